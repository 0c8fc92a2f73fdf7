//! The load generator run against a real server: the SFU mode (with either
//! peer implementation, every participant hears the other two and the
//! report's figures add up) and the chat mode's Poisson sweep.

mod common;

use std::process::Command;

use common::{TestServer, SECRET};

/// The value printed after `label` in the report (first number on its line).
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{report}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"))
}

async fn run_loadgen(server: &TestServer, peer: &str) -> String {
    let (addr, peer) = (server.addr.to_string(), peer.to_string());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_earshot-loadgen"))
            .args(["--addr", &addr, "--secret", SECRET, "sfu"])
            .args(["--rooms", "2", "--participants", "3"])
            .args(["--duration", "3", "--warmup", "2", "--peer", &peer])
            .output()
            .expect("run the load generator")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "load generator failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// 2 calls of 3: 12 forwarded streams of 50 packets/s.
fn check(report: &str) {
    let offered = 12.0 * 50.0;
    let forwarded = figure(report, "forwarded by server");
    let received = figure(report, "received by peers");
    assert!(
        forwarded > 0.9 * offered && forwarded < 1.1 * offered,
        "forwarded {forwarded}/s, offered {offered}/s:\n{report}"
    );
    assert!(
        received > 0.9 * forwarded && received <= 1.05 * forwarded,
        "peers received {received}/s of {forwarded}/s forwarded:\n{report}"
    );
    assert!(figure(report, "loss") < 2.0, "{report}");
}

#[tokio::test]
async fn lean_peers_connect_publish_and_hear_each_other_through_the_sfu() {
    let server = TestServer::start().await;
    check(&run_loadgen(&server, "lean").await);
}

#[tokio::test]
async fn webrtc_peers_give_the_same_report() {
    let server = TestServer::start().await;
    check(&run_loadgen(&server, "webrtc").await);
}

/// `chat --sweep` with Poisson arrivals: one line per rate, every message
/// delivered to both members of each room, and the best rate reported.
#[tokio::test]
async fn chat_sweep_with_poisson_arrivals_reports_each_rate() {
    let server = TestServer::start().await;
    let addr = server.addr.to_string();
    // The server runs in this process: its CPU is this process's.
    let pid = std::process::id().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_earshot-loadgen"))
            .args(["--addr", &addr, "--secret", SECRET, "--server-pid", &pid])
            .args([
                "chat",
                "--arrivals",
                "poisson",
                "--rooms",
                "3",
                "--room-size",
                "2",
            ])
            .args(["--sweep", "40,2,80", "--p99-limit-ms", "2000"])
            .args(["--duration", "2", "--warmup", "1", "--drain", "10"])
            .output()
            .expect("run the load generator")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "load generator failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Rows: offered, sent/s, deliv/s, p50, p99, max, cores, us/deliv, us/msg, lost, lag, late.
    let rows: Vec<Vec<&str>> = report
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 12 && f[0].parse::<f64>().is_ok())
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "one line per rate (40 and 80 msg/s):\n{report}"
    );
    for row in &rows {
        let num = |i: usize| row[i].parse::<f64>().unwrap();
        let (offered, sent, delivered) = (num(0), num(1), num(2));
        // Poisson counts over 2 s: within a wide band of the offered rate.
        assert!(
            sent > 0.5 * offered && sent < 1.6 * offered,
            "sent {sent}/s of {offered}/s offered:\n{report}"
        );
        // Both members of a room get each message (the sender's copy too).
        assert!(
            delivered > 1.8 * sent && delivered < 2.2 * sent,
            "delivered {delivered}/s for {sent}/s sent:\n{report}"
        );
        assert_eq!(row[9], "0", "nothing lost:\n{report}");
        assert_ne!(row[6], "-", "server CPU read:\n{report}");
    }
    assert!(
        report.contains("max rate at p99 <= 2000 ms: 80 msg/s offered"),
        "{report}"
    );
    assert!(report.contains("at half that rate (40 msg/s)"), "{report}");
}
