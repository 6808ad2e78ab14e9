//! afl target `websocket_frame`: the body is `silly::fuzzing::websocket_frame`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::websocket_frame(data));
}
