// A config file setting HTTP/2 by the settings' names (__test__/http2.spec.mjs): h2c with prior
// knowledge and every http2_* value away from its default.
export const workers = 1
export const http_protocols = 'h1,h2'
export const http2_cleartext = 'prior-knowledge'
export const http2_max_concurrent_streams = 7
export const http2_initial_window_size = 100_000
export const http2_max_frame_size = 20_000
export const http2_max_header_list_size = 32_768
