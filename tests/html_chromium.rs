//! `--html`: the report page in a real headless Chromium, driven over the DevTools
//! protocol on a pipe (`--remote-debugging-pipe`: NUL-terminated JSON on fds 3 and 4, so
//! no websocket and no extra crate): the page loads without console errors or
//! exceptions, its parts are there, a real mouse click on a ladder arrow and on a
//! transcript line shows the rule behind it, the connection list switches the view, and
//! a screenshot is saved (to `$TCPSIM_ARTIFACTS` or `target/`; not committed).
//!
//! Ignored by a plain `cargo test`, since it needs Debian's `chromium`; `.ci/run`
//! installs it and runs the ignored tests, where a missing Chromium fails the test.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A browser on the other end of the DevTools pipe, with the page session attached.
struct Browser {
    child: Child,
    to: File,
    from: BufReader<File>,
    next_id: u64,
    session: Option<String>,
    /// Every event received so far (console messages, exceptions, page lifecycle).
    events: Vec<Value>,
}

impl Browser {
    fn launch(profile: &Path) -> Browser {
        let (cmd_r, cmd_w) = nix::unistd::pipe().expect("pipe");
        let (out_r, out_w) = nix::unistd::pipe().expect("pipe");
        let (a, b) = (cmd_r.as_raw_fd(), out_w.as_raw_fd());
        let mut cmd = Command::new(CHROMIUM);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-pipe",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec. The
        // pipe ends go to high numbers first, so placing one at 3 cannot close the other.
        unsafe {
            cmd.pre_exec(move || {
                let hi_a = libc::fcntl(a, libc::F_DUPFD, 10);
                let hi_b = libc::fcntl(b, libc::F_DUPFD, 10);
                if hi_a < 0 || hi_b < 0 || libc::dup2(hi_a, 3) < 0 || libc::dup2(hi_b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("chromium starts");
        drop::<OwnedFd>(cmd_r);
        drop::<OwnedFd>(out_w);
        Browser {
            child,
            to: File::from(cmd_w),
            from: BufReader::new(File::from(out_r)),
            next_id: 0,
            session: None,
            events: Vec::new(),
        }
    }

    /// Sends one command (to the page session once attached) and waits for its answer,
    /// keeping the events that arrive meanwhile.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let mut msg = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to chromium");
        loop {
            let m = self.read();
            if m["id"] == json!(self.next_id) {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    fn read(&mut self) -> Value {
        let mut buf = Vec::new();
        let n = self
            .from
            .read_until(0, &mut buf)
            .expect("read from chromium");
        assert!(n > 0, "chromium closed the pipe");
        buf.pop();
        serde_json::from_slice(&buf).expect("JSON from chromium")
    }

    /// Waits until an event `method` has arrived.
    fn wait_for(&mut self, method: &str) {
        while !self.events.iter().any(|e| e["method"] == json!(method)) {
            let m = self.read();
            self.events.push(m);
        }
    }

    /// Evaluates `js` in the page and returns its value.
    fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// A real mouse click (pressed and released) at page coordinates.
    fn click(&mut self, (x, y): (f64, f64)) {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Console errors, uncaught exceptions and error log entries seen so far.
    fn errors(&self) -> Vec<String> {
        (self.events.iter())
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => e["params"]["type"] == json!("error"),
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == json!("error"),
                _ => false,
            })
            .map(Value::to_string)
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The point of `js`'s element (an expression) at the middle of the viewport, scrolled
/// there first: for an SVG line, its midpoint.
fn centre_of(b: &mut Browser, js: &str) -> (f64, f64) {
    let v = b.eval(&format!(
        "(() => {{ const el = {js}; el.scrollIntoView({{block: 'center'}});
           if (el instanceof SVGLineElement) {{
             const m = el.getScreenCTM();
             const p = new DOMPoint((+el.getAttribute('x1') + +el.getAttribute('x2')) / 2,
                                    (+el.getAttribute('y1') + +el.getAttribute('y2')) / 2).matrixTransform(m);
             return [p.x, p.y];
           }}
           const r = el.getBoundingClientRect();
           return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
    ));
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("TCPSIM_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Standard base64 (what CDP's screenshots are in) to bytes.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// Runs tcpsim with `args` and the page written to a temporary file.
fn report(args: &[&str], dir: &Path) -> PathBuf {
    let page = dir.join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .arg("--quiet")
        .arg("--html")
        .arg(&page)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "tcpsim {args:?}: {status}"
    );
    page
}

#[test]
#[ignore = "needs Debian's chromium (.ci/run installs it and runs the ignored tests)"]
fn the_report_page_works_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium (as .ci/run does)"
    );
    let dir = std::env::temp_dir().join(format!("tcpsim-html-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("profile")).unwrap();
    let sims = Path::new(env!("CARGO_MANIFEST_DIR")).join("sims");
    let page = report(&[sims.join("many_hosts.toml").to_str().unwrap()], &dir);
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 4 << 20, "the page is bounded: {size} bytes");
    let mut b = Browser::launch(&dir.join("profile"));
    let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
    let attached = b.call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    b.session = attached["sessionId"].as_str().map(String::from);
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        b.call(domain, json!({}));
    }
    b.call(
        "Page.navigate",
        json!({"url": format!("file://{}", page.display())}),
    );
    b.wait_for("Page.loadEventFired");

    // The parts of the page.
    let counts = b.eval(
        "[document.querySelectorAll('#conn option').length, document.querySelectorAll('.conn').length,
          document.querySelectorAll('.conn:not([hidden])').length, document.querySelectorAll('.conn:not([hidden]) g.seg').length,
          document.querySelectorAll('.conn:not([hidden]) .line').length, !!document.getElementById('rule')]",
    );
    assert_eq!(
        counts[0],
        json!(20),
        "at most 20 connections offered: {counts}"
    );
    assert_eq!(counts[1], json!(20));
    assert_eq!(counts[2], json!(1), "one connection shown");
    assert!(
        counts[3].as_u64() > Some(5),
        "the ladder has arrows: {counts}"
    );
    assert!(
        counts[4].as_u64() > Some(10),
        "the transcript has lines: {counts}"
    );
    assert_eq!(counts[5], json!(true));

    // A click on the first arrow of the ladder shows the rule that sent it.
    let at = centre_of(
        &mut b,
        "document.querySelector('.conn:not([hidden]) g.seg line.hit')",
    );
    b.click(at);
    let rule = b.eval("document.getElementById('rule').textContent");
    let wanted = b.eval("document.querySelector('.conn:not([hidden]) g.seg').dataset.why");
    assert_eq!(rule, wanted, "the panel shows the arrow's rule");
    assert!(rule.as_str().unwrap().contains("RFC 9293"), "{rule}");

    // A click on a transcript line with a rule shows that one.
    let at = centre_of(
        &mut b,
        "document.querySelectorAll('.conn:not([hidden]) .line.rule')[3]",
    );
    b.click(at);
    let rule = b.eval("document.getElementById('rule').textContent");
    let wanted =
        b.eval("document.querySelectorAll('.conn:not([hidden]) .line.rule')[3].dataset.why");
    assert_eq!(rule, wanted);

    // The connection list switches what is shown.
    let before = b.eval("document.querySelector('.conn:not([hidden]) .line').textContent");
    b.eval("(() => { const s = document.getElementById('conn'); s.value = '7'; s.dispatchEvent(new Event('change')); })()");
    let shown =
        b.eval("[...document.querySelectorAll('.conn:not([hidden])')].map(v => v.dataset.conn)");
    assert_eq!(shown, json!(["7"]));
    let after = b.eval("document.querySelector('.conn:not([hidden]) .line').textContent");
    assert_ne!(before, after, "another connection's transcript");

    let shot = b.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64(shot["data"].as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let path = artifacts().join("tcpsim-html-report.png");
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
    assert!(b.errors().is_empty(), "console errors: {:?}", b.errors());

    // The page: port exhaustion with its metrics plots, 112,928 connections.
    let page = report(
        &[sims
            .join("production/port_exhaustion.toml")
            .to_str()
            .unwrap()],
        &dir,
    );
    b.call(
        "Page.navigate",
        json!({"url": format!("file://{}", page.display())}),
    );
    b.events.clear();
    b.wait_for("Page.loadEventFired");
    let parts = b.eval(
        "[document.querySelectorAll('#figures svg').length, document.querySelectorAll('#conn option').length,
          document.body.textContent.includes('Ephemeral ports free over time')]",
    );
    assert_eq!(parts, json!([2, 20, true]), "figures and the bounded list");
    assert!(b.errors().is_empty(), "console errors: {:?}", b.errors());
    drop(b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn base64_decodes() {
    assert_eq!(base64("aGVsbG8="), b"hello");
    assert_eq!(base64("aGVsbG8h"), b"hello!");
    assert_eq!(base64("aA=="), b"h");
}
