//! Support for the end-to-end suites: local services and AWS clients that can only ever reach
//! 127.0.0.1. The suites themselves live in `tests/`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatchlogs::config::{Credentials, SharedCredentialsProvider};

/// Why a local service could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("moto_server is not installed at {0}: run scripts/setup-python.sh")]
    MotoMissing(PathBuf),
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{what} did not listen on {addr} within {seconds}s")]
    NotListening {
        what: &'static str,
        addr: SocketAddr,
        seconds: u64,
    },
    #[error("no free loopback port: {0}")]
    NoPort(std::io::Error),
}

/// The repository root (this crate sits at `tests/e2e`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(HarnessError::NoPort)?;
    let port = listener.local_addr().map_err(HarnessError::NoPort)?.port();
    Ok(port)
}

fn wait_for(what: &'static str, addr: SocketAddr, child: &mut Child) -> Result<(), HarnessError> {
    let limit = Duration::from_secs(30);
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(HarnessError::NotListening {
        what,
        addr,
        seconds: limit.as_secs(),
    })
}

/// moto's server from the project's venv: the local CloudWatch Logs. Killed on drop.
pub struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    pub fn start() -> Result<Self, HarnessError> {
        let binary = repo_root().join(".venv/bin/moto_server");
        if !binary.exists() {
            return Err(HarnessError::MotoMissing(binary));
        }
        let port = free_port()?;
        let mut child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                what: "moto_server",
                source,
            })?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(error) = wait_for("moto_server", addr, &mut child) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(error);
        }
        Ok(Self {
            child,
            url: format!("http://{addr}"),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SDK config that can only reach `endpoint` on loopback, with dummy static credentials.
pub fn local_sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "end-to-end suites talk to loopback only, not {endpoint}"
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "local-secret",
            None,
            None,
            "e2e",
        )))
        .build()
}
