//! The CLI's side of the control socket: blocking, one request at a time,
//! with errors that tell the operator what happened and what to do.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use serde::Serialize;

use super::protocol::{
    EndpointAdd, EndpointList, EndpointView, NeighborDetails, Reply, Request, Routes, SessionEvent,
    Summary,
};
use super::time::now_ms;

/// How long a one-shot request waits for its answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request got no useful answer.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing at the socket path: the daemon is not running, or uses another.
    NoSocket {
        path: PathBuf,
    },
    /// The socket (or a directory above it) is not ours to open.
    PermissionDenied {
        path: PathBuf,
    },
    /// A socket file is there but no daemon listens on it.
    NotListening {
        path: PathBuf,
    },
    Connect {
        path: PathBuf,
        source: io::Error,
    },
    Timeout {
        path: PathBuf,
    },
    /// The daemon closed the connection before answering.
    Closed {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// The daemon's line is not a reply this client knows.
    Malformed {
        detail: String,
    },
    /// A reply of the wrong kind for the request.
    Unexpected {
        asked: &'static str,
        got: &'static str,
    },
    /// The daemon understood and refused, e.g. an unknown neighbor.
    Daemon {
        message: String,
    },
}

impl ClientError {
    /// The process exit code for this error: 1 when the daemon answered with
    /// an error, 3 when it could not be reached.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Daemon { .. }
            | ClientError::Malformed { .. }
            | ClientError::Unexpected { .. } => 1,
            ClientError::NoSocket { .. }
            | ClientError::PermissionDenied { .. }
            | ClientError::NotListening { .. }
            | ClientError::Connect { .. }
            | ClientError::Timeout { .. }
            | ClientError::Closed { .. }
            | ClientError::Io { .. } => 3,
        }
    }

    fn from_connect(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
                ClientError::NoSocket { path }
            }
            io::ErrorKind::PermissionDenied => ClientError::PermissionDenied { path },
            io::ErrorKind::ConnectionRefused => ClientError::NotListening { path },
            _ => ClientError::Connect { path, source },
        }
    }

    fn from_io(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout { path },
            _ => ClientError::Io { path, source },
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::NoSocket { path } => {
                write!(
                    f,
                    "romana-bgp is not running (no socket at {})",
                    path.display()
                )
            }
            ClientError::PermissionDenied { path } => write!(
                f,
                "cannot open {}: permission denied (the control socket is root-only; run as root)",
                path.display()
            ),
            ClientError::NotListening { path } => write!(
                f,
                "romana-bgp is not running ({} exists but nothing listens)",
                path.display()
            ),
            ClientError::Connect { path, source } => {
                write!(
                    f,
                    "cannot connect to romana-bgp at {}: {source}",
                    path.display()
                )
            }
            ClientError::Timeout { path } => write!(
                f,
                "romana-bgp at {} did not answer within {} s",
                path.display(),
                ANSWER_TIMEOUT.as_secs()
            ),
            ClientError::Closed { path } => write!(
                f,
                "romana-bgp at {} closed the connection before answering",
                path.display()
            ),
            ClientError::Io { path, source } => {
                write!(
                    f,
                    "lost the connection to romana-bgp at {}: {source}",
                    path.display()
                )
            }
            ClientError::Malformed { detail } => write!(
                f,
                "romana-bgp sent a reply this client does not understand ({detail}); \
                 are the CLI and the daemon the same version?"
            ),
            ClientError::Unexpected { asked, got } => write!(
                f,
                "romana-bgp answered a {asked} request with a {got} reply; \
                 are the CLI and the daemon the same version?"
            ),
            ClientError::Daemon { message } => f.write_str(&super::render::printable(message)),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } | ClientError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One connection to the daemon.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    line: String,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| ClientError::from_connect(path, e))?;
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(|e| ClientError::from_io(path, e))?;
        Ok(Client {
            path: path.to_path_buf(),
            reader: BufReader::new(stream),
            line: String::new(),
        })
    }

    /// `show`.
    pub fn summary(&mut self) -> Result<Summary, ClientError> {
        match self.ask(&Request::Summary)? {
            Reply::Summary(summary) => Ok(summary),
            other => Err(unexpected("summary", &other)),
        }
    }

    /// `show neighbors [ADDR]`.
    pub fn neighbors(&mut self, address: Option<IpAddr>) -> Result<NeighborDetails, ClientError> {
        match self.ask(&Request::Neighbors { address })? {
            Reply::Neighbors(details) => Ok(details),
            other => Err(unexpected("neighbors", &other)),
        }
    }

    /// `show routes`.
    pub fn routes(&mut self) -> Result<Routes, ClientError> {
        match self.ask(&Request::Routes)? {
            Reply::Routes(routes) => Ok(routes),
            other => Err(unexpected("routes", &other)),
        }
    }

    /// `endpoint add`.
    pub fn endpoint_add(&mut self, add: EndpointAdd) -> Result<EndpointView, ClientError> {
        match self.ask(&Request::EndpointAdd(add))? {
            Reply::Endpoint(endpoint) => Ok(endpoint),
            other => Err(unexpected("endpoint add", &other)),
        }
    }

    /// `endpoint del`: whether the endpoint existed.
    pub fn endpoint_del(&mut self, name: &str) -> Result<bool, ClientError> {
        match self.ask(&Request::EndpointDel {
            name: name.to_string(),
        })? {
            Reply::EndpointDeleted { existed, .. } => Ok(existed),
            other => Err(unexpected("endpoint del", &other)),
        }
    }

    /// `endpoint list`, `show endpoints`.
    pub fn endpoints(&mut self) -> Result<EndpointList, ClientError> {
        match self.ask(&Request::Endpoints)? {
            Reply::Endpoints(list) => Ok(list),
            other => Err(unexpected("endpoints", &other)),
        }
    }

    /// Sends `follow` and waits until the daemon confirms the subscription;
    /// from then on the connection carries only events, with no timeout.
    fn subscribe(mut self) -> Result<Subscription, ClientError> {
        match self.ask(&Request::Follow)? {
            Reply::Following => {}
            other => return Err(unexpected("follow", &other)),
        }
        self.reader
            .get_ref()
            .set_read_timeout(None)
            .map_err(|e| ClientError::from_io(&self.path, e))?;
        Ok(Subscription { client: self })
    }

    /// One request and its reply; a [`Reply::Error`] becomes
    /// [`ClientError::Daemon`].
    fn ask(&mut self, request: &Request) -> Result<Reply, ClientError> {
        let mut line = serde_json::to_vec(request).map_err(|e| ClientError::Malformed {
            detail: e.to_string(),
        })?;
        line.push(b'\n');
        self.reader
            .get_mut()
            .write_all(&line)
            .map_err(|e| ClientError::from_io(&self.path, e))?;
        match self.receive()? {
            Reply::Error { message } => Err(ClientError::Daemon { message }),
            reply => Ok(reply),
        }
    }

    fn receive(&mut self) -> Result<Reply, ClientError> {
        self.line.clear();
        let read = self
            .reader
            .read_line(&mut self.line)
            .map_err(|e| ClientError::from_io(&self.path, e))?;
        if read == 0 {
            return Err(ClientError::Closed {
                path: self.path.clone(),
            });
        }
        serde_json::from_str(&self.line).map_err(|e| ClientError::Malformed {
            detail: e.to_string(),
        })
    }
}

fn unexpected(asked: &'static str, got: &Reply) -> ClientError {
    let got = match got {
        Reply::Summary(_) => "summary",
        Reply::Neighbors(_) => "neighbors",
        Reply::Routes(_) => "routes",
        Reply::Following => "following",
        Reply::Event(_) => "event",
        Reply::Lagged { .. } => "lagged",
        Reply::Error { .. } => "error",
        Reply::Endpoint(_) => "endpoint",
        Reply::Endpoints(_) => "endpoints",
        Reply::EndpointDeleted { .. } => "endpoint deleted",
    };
    ClientError::Unexpected { asked, got }
}

/// A connection that carries the event stream of `follow`.
struct Subscription {
    client: Client,
}

impl Subscription {
    fn open(path: &Path) -> Result<Self, ClientError> {
        Client::connect(path)?.subscribe()
    }
}

/// What `show follow` reports: the daemon's session events, and what
/// happened to the stream itself (stamped with this machine's clock). As
/// JSON, an event is the daemon's object unchanged and the others are
/// `{"event":"missed"|"connection_lost"|"reconnected","at_ms":..}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FollowNotice {
    /// The daemon dropped this many events because we read too slowly.
    Missed {
        at_ms: u64,
        count: u64,
    },
    /// The daemon went away; reconnection attempts follow.
    #[serde(rename = "connection_lost")]
    Lost {
        at_ms: u64,
    },
    Reconnected {
        at_ms: u64,
    },
    #[serde(untagged)]
    Event(SessionEvent),
}

/// Streams session events to `notify` until it answers `Break`. When the
/// daemon goes away (a restart), says so and reconnects every `retry`,
/// forever. Only the first connection's failure is returned: an operator
/// who starts `follow` with no daemon running wants to know.
pub fn follow(
    path: &Path,
    retry: Duration,
    mut notify: impl FnMut(FollowNotice) -> ControlFlow<()>,
) -> Result<(), ClientError> {
    let mut subscription = Subscription::open(path)?;
    loop {
        let notice = match subscription.client.receive() {
            Ok(Reply::Event(event)) => FollowNotice::Event(event),
            Ok(Reply::Lagged { missed }) => FollowNotice::Missed {
                at_ms: now_ms(),
                count: missed,
            },
            Ok(Reply::Error { message }) => return Err(ClientError::Daemon { message }),
            Ok(other) => return Err(unexpected("follow", &other)),
            Err(malformed @ ClientError::Malformed { .. }) => return Err(malformed),
            Err(_) => {
                if notify(FollowNotice::Lost { at_ms: now_ms() }).is_break() {
                    return Ok(());
                }
                subscription = reconnect(path, retry);
                FollowNotice::Reconnected { at_ms: now_ms() }
            }
        };
        if notify(notice).is_break() {
            return Ok(());
        }
    }
}

fn reconnect(path: &Path, retry: Duration) -> Subscription {
    loop {
        thread::sleep(retry);
        if let Ok(subscription) = Subscription::open(path) {
            return subscription;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_say_what_is_wrong() {
        let path = Path::new("/nonexistent/romana-bgp.sock");
        let err = Client::connect(path).err().unwrap();
        assert_eq!(
            err.to_string(),
            "romana-bgp is not running (no socket at /nonexistent/romana-bgp.sock)"
        );
        assert_eq!(err.exit_code(), 3);

        let refused = ClientError::from_connect(path, io::ErrorKind::ConnectionRefused.into());
        assert_eq!(
            refused.to_string(),
            "romana-bgp is not running (/nonexistent/romana-bgp.sock exists but nothing listens)"
        );
        let denied = ClientError::from_connect(path, io::ErrorKind::PermissionDenied.into());
        assert_eq!(
            denied.to_string(),
            "cannot open /nonexistent/romana-bgp.sock: permission denied \
             (the control socket is root-only; run as root)"
        );
        assert_eq!(denied.exit_code(), 3);
    }

    /// A daemon that answers two `follow` connections with canned lines and
    /// closes the first one, as a restart would.
    #[test]
    fn follow_reports_lag_loss_and_reconnection() {
        use std::os::unix::net::UnixListener;

        let dir = std::env::temp_dir().join(format!("romana-bgp-client-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let event = r#"{"reply":"event","at_ms":9,"neighbor":"192.0.2.1","event":"prefixes_accepted","count":1}"#;
        let daemon = thread::spawn(move || {
            let mut kept = Vec::new();
            for (i, conn) in listener.incoming().take(2).enumerate() {
                let mut conn = conn.unwrap();
                let mut request = String::new();
                BufReader::new(&conn).read_line(&mut request).unwrap();
                assert_eq!(request, "{\"request\":\"follow\"}\n");
                let lines = if i == 0 {
                    format!(
                        "{{\"reply\":\"following\"}}\n{{\"reply\":\"lagged\",\"missed\":3}}\n{event}\n"
                    )
                } else {
                    format!("{{\"reply\":\"following\"}}\n{event}\n")
                };
                conn.write_all(lines.as_bytes()).unwrap();
                if i > 0 {
                    kept.push(conn);
                }
            }
            kept
        });

        let mut seen = Vec::new();
        follow(&path, Duration::from_millis(10), |notice| {
            seen.push(notice);
            if seen.len() == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        drop(daemon.join().unwrap());
        let _ = std::fs::remove_dir_all(&dir);

        let expected_event: SessionEvent = serde_json::from_str(
            r#"{"at_ms":9,"neighbor":"192.0.2.1","event":"prefixes_accepted","count":1}"#,
        )
        .unwrap();
        assert!(
            matches!(seen.first(), Some(FollowNotice::Missed { count: 3, .. })),
            "{seen:?}"
        );
        assert_eq!(
            seen.get(1),
            Some(&FollowNotice::Event(expected_event.clone()))
        );
        assert!(
            matches!(seen.get(2), Some(FollowNotice::Lost { .. })),
            "{seen:?}"
        );
        assert!(
            matches!(seen.get(3), Some(FollowNotice::Reconnected { .. })),
            "{seen:?}"
        );
        assert_eq!(seen.get(4), Some(&FollowNotice::Event(expected_event)));
    }

    #[test]
    fn daemon_errors_exit_1_and_cannot_drive_the_terminal() {
        let err = ClientError::Daemon {
            message: "no neighbor \u{1b}[2J1.2.3.4 configured".into(),
        };
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.to_string(), "no neighbor \\u{1b}[2J1.2.3.4 configured");
    }
}
