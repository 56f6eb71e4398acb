//! Test harness parts shared by the engine's integration tests.

use std::collections::HashMap;

use ugn_server::{ConnId, Server, WriteStatus};

/// Goes on streaming a response of `streams[id]` more `x` bytes in 64 KiB writes, stopping when
/// the engine reports its buffer full (a Drain event calls this again) and ending it when done.
pub fn continue_stream(server: &mut Server, id: ConnId, streams: &mut HashMap<ConnId, usize>) {
  let Some(left) = streams.get_mut(&id) else { return };
  let chunk = vec![b'x'; 64 * 1024];
  while *left > 0 {
    let n = (*left).min(chunk.len());
    *left -= n;
    if server.write(id, &chunk[..n]).unwrap() == WriteStatus::Full {
      return;
    }
  }
  streams.remove(&id);
  server.end(id, &[]).unwrap();
}
