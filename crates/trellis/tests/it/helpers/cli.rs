//! Running the `trellis` binary the way an operator would.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");

pub fn trellis(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("TRELLIS_DATABASE_URL")
        .env_remove("TRELLIS_BIND")
        .env_remove("TRELLIS_CONFIG");
    c
}

/// `trellis ARGS --database-url URL`.
pub fn trellis_on(url: &str, args: &[&str]) -> Command {
    let mut c = trellis(args);
    c.args(["--database-url", url]);
    c
}

/// Runs `cmd` with `stdin` on its standard input, to the end.
fn run(mut cmd: Command, stdin: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output of a command that must succeed.
pub fn run_ok(cmd: Command, stdin: &str) -> String {
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Standard error of a command that must fail.
pub fn run_err(cmd: Command, stdin: &str) -> String {
    let out = run(cmd, stdin);
    assert!(
        !out.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}
