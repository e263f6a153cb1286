//! The stdio framing: length-prefixed JSON requests in, responses and progress events out.

use std::{
    fs::File,
    io::{self, Read, Write},
    os::{fd::FromRawFd, unix::net::UnixListener},
    panic::{self, AssertUnwindSafe},
    path::Path,
    sync::{Mutex, OnceLock},
};

use serde::Serialize;
use serde_json::{json, Value};

use crate::ops::{self, OpError};

/// Frames above this size are refused: requests carry paths, never blobs.
pub const MAX_FRAME: usize = 1 << 20;

/// The real stdout, kept for frames only. Anything else that writes to fd 1 (a dependency's
/// stray `println!`) lands on stderr instead and cannot corrupt the stream.
static FRAMES: OnceLock<Mutex<Box<dyn Write + Send>>> = OnceLock::new();

fn take_stdout_for_frames() -> io::Result<()> {
    // SAFETY: plain fd duplication at start-up, before any other thread exists.
    let frames_fd = unsafe { libc::dup(1) };
    if frames_fd < 0 {
        return Err(io::Error::last_os_error());
    }
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let file = unsafe { File::from_raw_fd(frames_fd) };
    FRAMES.set(Mutex::new(Box::new(file))).ok();
    Ok(())
}

fn write_frame(value: &Value) {
    let bytes = serde_json::to_vec(value).expect("json encodes");
    let frames = FRAMES.get().expect("frames initialised");
    let mut out = frames.lock().unwrap_or_else(|poison| poison.into_inner());
    let len = (bytes.len() as u32).to_be_bytes();
    // A broken pipe means the host is gone; there is nobody left to tell.
    let _ = out.write_all(&len).and_then(|_| out.write_all(&bytes)).and_then(|_| out.flush());
}

/// Sends a progress event tied to request `id` (e.g. one per segment written).
pub fn emit_event<T: Serialize>(id: u64, event: &str, data: &T) {
    write_frame(&json!({ "id": id, "event": event, "data": data }));
}

fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the {MAX_FRAME}-byte limit"),
        ));
    }
    let mut buf = vec![0u8; len];
    input.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Serves requests on stdin/stdout.
pub fn serve() -> anyhow::Result<()> {
    take_stdout_for_frames()?;
    serve_frames(&mut io::stdin().lock())
}

/// Serves one connection on a Unix socket at `path`, for runtimes whose stdin is unreliable
/// (Podman's attach API forwards the HTTP request body into the container's stdin).
/// The socket is created first, then the worker waits for one client and serves it.
pub fn serve_socket(path: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let (stream, _) = listener.accept()?;
    let _ = std::fs::remove_file(path);
    FRAMES.set(Mutex::new(Box::new(stream.try_clone()?))).ok();
    let mut input = stream;
    serve_frames(&mut input)
}

fn serve_frames(input: &mut impl Read) -> anyhow::Result<()> {
    // Panics inside risc0 (malformed segment, bad seal) become error replies, not a dead worker.
    panic::set_hook(Box::new(|info| eprintln!("worker panic: {info}")));
    write_frame(&json!({ "id": 0, "event": "ready", "data": ops::capabilities() }));

    while let Some(frame) = read_frame(input)? {
        let request: Value = match serde_json::from_slice(&frame) {
            Ok(value) => value,
            Err(err) => {
                write_frame(&error_reply(0, &OpError::invalid_request(format!("frame is not JSON: {err}"))));
                continue;
            }
        };
        let id = request.get("id").and_then(Value::as_u64).unwrap_or(0);
        let reply = match panic::catch_unwind(AssertUnwindSafe(|| ops::dispatch(id, request))) {
            Ok(Ok(result)) => json!({ "id": id, "ok": true, "result": result }),
            Ok(Err(err)) => error_reply(id, &err),
            Err(panic) => error_reply(id, &OpError::from_panic(panic)),
        };
        write_frame(&reply);
    }
    Ok(())
}

fn error_reply(id: u64, err: &OpError) -> Value {
    json!({ "id": id, "ok": false, "error": { "code": err.code, "message": err.message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn frames_are_read_whole_and_eof_between_frames_ends_cleanly() {
        let mut stream = framed(br#"{"id":1}"#);
        stream.extend(framed(br#"{"id":2}"#));
        let mut reader = stream.as_slice();
        assert_eq!(read_frame(&mut reader).unwrap().unwrap(), br#"{"id":1}"#);
        assert_eq!(read_frame(&mut reader).unwrap().unwrap(), br#"{"id":2}"#);
        assert!(read_frame(&mut reader).unwrap().is_none());
    }

    #[test]
    fn an_oversized_frame_is_refused() {
        let header = ((MAX_FRAME + 1) as u32).to_be_bytes();
        let err = read_frame(&mut header.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_truncated_body_is_an_error_not_a_frame() {
        let mut stream = framed(br#"{"id":1}"#);
        stream.truncate(stream.len() - 2);
        assert!(read_frame(&mut stream.as_slice()).is_err());
    }
}
