//! wholesum-risc0-worker: a thin command layer over risc0-zkvm's own host API.
//!
//! Modes:
//!   `wholesum-risc0-worker serve`                 framed JSON requests on stdin, responses on stdout
//!   `wholesum-risc0-worker serve --listen <sock>` the same on one connection to a Unix socket
//!   `wholesum-risc0-worker wrap <user.elf> <out>` user ELF + v1compat kernel -> program binary
//!   `wholesum-risc0-worker image-id <program>`    print a program binary's image ID
//!   `wholesum-risc0-worker capabilities`          print what this build can do, as JSON
//!
//! Frames are a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. Blobs never
//! travel in frames: requests name file paths. See docs/worker-protocol.md.

mod claims;
mod ops;
mod protocol;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("serve");
    let result = match (mode, args.len()) {
        ("serve", 1) | ("serve", 0) => protocol::serve(),
        ("serve", 3) if args[1] == "--listen" => protocol::serve_socket(std::path::Path::new(&args[2])),
        ("wrap", 3) => ops::wrap_cli(&args[1], &args[2]),
        ("image-id", 2) => ops::image_id_cli(&args[1]),
        ("capabilities", 1) => {
            println!("{}", serde_json::to_string_pretty(&ops::capabilities()).unwrap());
            Ok(())
        }
        ("--version", _) | ("version", _) => {
            println!("wholesum-risc0-worker {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: wholesum-risc0-worker [serve [--listen <socket>] | wrap <user.elf> <out.bin> | image-id <program.bin> | capabilities | version]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
