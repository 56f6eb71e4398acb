//! Interim responses: 103 Early Hints ahead of the final response.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::serve;
use ugn_server::{EventKind, ServerConfig};

#[test]
fn early_hints_precede_the_response_on_http_1_1_only() {
    let server = serve(ServerConfig::default(), |server, event| {
        if event.kind == EventKind::Request {
            let link: &[u8] = b"</app.css>; rel=preload; as=style";
            server
                .inform(event.id, b"103 Early Hints", &[(b"Link", link)])
                .unwrap();
            assert!(
                server.inform(event.id, b"200 OK", &[]).is_err(),
                "only a 1xx is interim"
            );
            server
                .respond(event.id, b"200 OK", &[(b"Link", link)], b"page", true)
                .unwrap();
            assert!(
                server.inform(event.id, b"103 Early Hints", &[]).is_err(),
                "not after the final response"
            );
        }
    });
    for (version, hinted) in [("1.1", true), ("1.0", false)] {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(
            format!("GET / HTTP/{version}\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let early = "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\n\r\n";
        assert_eq!(text.starts_with(early), hinted, "{text}");
        let final_response = text.strip_prefix(early).unwrap_or(&text);
        assert!(
            final_response.starts_with(&format!("HTTP/{version} 200 OK\r\n")),
            "{text}"
        );
        assert!(final_response.ends_with("\r\n\r\npage"), "{text}");
    }
}
