//! The daemon's side of the control socket: one listener, one task per
//! client, answers from a [`Backend`] that the daemon implements. The server
//! holds no state of its own.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinSet;

use super::protocol::{
    EndpointAdd, EndpointList, EndpointView, MAX_REQUEST_LINE, NeighborDetails, Reply, Request,
    Routes, SessionEvent, Summary,
};

/// Clients served at once; one more is told to come back later, so a
/// runaway script cannot exhaust the daemon's file descriptors.
pub const MAX_CLIENTS: usize = 64;

/// What the daemon answers with. Implementations take snapshots; none may
/// block for long, since every client waits on them.
pub trait Backend: Send + Sync + 'static {
    fn summary(&self) -> Summary;
    /// All neighbors, or the one asked for; `Err` is shown to the operator
    /// as is, e.g. "no neighbor 1.2.3.4 configured".
    fn neighbors(&self, address: Option<IpAddr>) -> Result<NeighborDetails, String>;
    fn routes(&self) -> impl Future<Output = Routes> + Send;
    /// A new receiver of session events, for one `follow` client.
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent>;
    /// Allocate, persist and wire an endpoint; `Err` is shown as is.
    fn endpoint_add(
        &self,
        add: EndpointAdd,
    ) -> impl Future<Output = Result<EndpointView, String>> + Send;
    /// Unwire and release; `Ok(false)` when there was no such endpoint.
    fn endpoint_del(&self, name: String) -> impl Future<Output = Result<bool, String>> + Send;
    fn endpoints(&self) -> impl Future<Output = EndpointList> + Send;
}

/// Why the control socket could not be opened.
#[derive(Debug)]
pub enum ApiError {
    /// Another process accepts connections on the path.
    AlreadyServing {
        path: PathBuf,
    },
    /// Something other than a socket is at the path; it is left alone.
    NotASocket {
        path: PathBuf,
    },
    CreateDirectory {
        path: PathBuf,
        source: io::Error,
    },
    /// Checking the existing socket failed for another reason than "nothing
    /// listens".
    Probe {
        path: PathBuf,
        source: io::Error,
    },
    Bind {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::AlreadyServing { path } => write!(
                f,
                "another romana-bgp is already serving the control socket {}; \
                 stop it first, or set [api] socket to another path",
                path.display()
            ),
            ApiError::NotASocket { path } => write!(
                f,
                "{} exists and is not a socket; remove it, or set [api] socket to another path",
                path.display()
            ),
            ApiError::CreateDirectory { path, source } => write!(
                f,
                "cannot create the control socket directory {}: {source}",
                path.display()
            ),
            ApiError::Probe { path, source } => write!(
                f,
                "cannot tell whether another romana-bgp serves {}: {source}",
                path.display()
            ),
            ApiError::Bind { path, source } => {
                write!(f, "cannot listen on {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::CreateDirectory { source, .. }
            | ApiError::Probe { source, .. }
            | ApiError::Bind { source, .. } => Some(source),
            ApiError::AlreadyServing { .. } | ApiError::NotASocket { .. } => None,
        }
    }
}

/// Serves the control socket at `path` until `shutdown` completes, then
/// drops every client and removes the socket file.
pub async fn serve<B: Backend>(
    path: &Path,
    backend: Arc<B>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ApiError> {
    let listener = listen(path).await?;
    tracing::info!(socket = %path.display(), "control socket listening");
    let mut shutdown = pin!(shutdown);
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(finished) = clients.join_next(), if !clients.is_empty() => {
                if let Err(e) = finished {
                    tracing::warn!(error = %e, "control client task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if clients.len() >= MAX_CLIENTS => turn_away(&stream),
                Ok((stream, _)) => {
                    clients.spawn(serve_client(stream, Arc::clone(&backend)));
                }
                Err(e) => {
                    // Out of file descriptors, typically: wait instead of
                    // spinning on an error that will repeat at once.
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    clients.shutdown().await;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(socket = %path.display(), error = %e, "cannot remove the control socket")
        }
    }
    Ok(())
}

/// Binds the socket with mode 0600 from its first moment: it is bound under
/// a temporary name, restricted, then renamed over `path`, so no client can
/// connect while it is still open to all. A socket file that nobody listens
/// on (left by a crash) is replaced; a live one is not.
async fn listen(path: &Path) -> Result<UnixListener, ApiError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| ApiError::CreateDirectory {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    refuse_if_taken(path).await?;

    let mut staging_name = std::ffi::OsString::from(".");
    staging_name.push(path.file_name().unwrap_or(path.as_os_str()));
    staging_name.push(format!(".{}", std::process::id()));
    let staging = dir.join(staging_name);
    let bind_error = |source| ApiError::Bind {
        path: path.to_path_buf(),
        source,
    };
    // A leftover of an earlier process that had our pid.
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging).map_err(bind_error)?;
    let published = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&staging, path));
    if let Err(e) = published {
        let _ = std::fs::remove_file(&staging);
        return Err(bind_error(e));
    }
    Ok(listener)
}

async fn refuse_if_taken(path: &Path) -> Result<(), ApiError> {
    let probe_error = |source| ApiError::Probe {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(probe_error(e)),
        Ok(meta) if !meta.file_type().is_socket() => Err(ApiError::NotASocket {
            path: path.to_path_buf(),
        }),
        Ok(_) => match UnixStream::connect(path).await {
            Ok(_) => Err(ApiError::AlreadyServing {
                path: path.to_path_buf(),
            }),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(socket = %path.display(), "replacing a stale control socket");
                Ok(())
            }
            Err(e) => Err(probe_error(e)),
        },
    }
}

fn turn_away(stream: &UnixStream) {
    let reply = Reply::Error {
        message: format!("romana-bgp is serving {MAX_CLIENTS} clients already; try again later"),
    };
    if let Ok(mut line) = serde_json::to_vec(&reply) {
        line.push(b'\n');
        // A fresh socket's buffer takes one short line without blocking; if
        // not, the client sees the connection close, which says as much.
        let _ = stream.try_write(&line);
    }
}

async fn serve_client<B: Backend>(stream: UnixStream, backend: Arc<B>) {
    let (read, mut writer) = stream.into_split();
    let mut reader = BufReader::new(read);
    if let Err(e) = answer_requests(&mut reader, &mut writer, &*backend).await {
        tracing::debug!(error = %e, "control client went away");
    }
}

async fn answer_requests<B: Backend>(
    reader: &mut BufReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    backend: &B,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        let reply = match read_line(reader, &mut line).await? {
            Line::End => return Ok(()),
            Line::TooLong => Reply::Error {
                message: format!("request longer than {MAX_REQUEST_LINE} bytes; discarded unread"),
            },
            Line::Complete if line.trim_ascii().is_empty() => continue,
            Line::Complete => match serde_json::from_slice::<Request>(&line) {
                Err(e) => Reply::Error {
                    message: format!(
                        "malformed request ({e}); send one JSON object per line, \
                         e.g. {{\"request\":\"summary\"}}"
                    ),
                },
                Ok(Request::Summary) => Reply::Summary(backend.summary()),
                Ok(Request::Neighbors { address }) => match backend.neighbors(address) {
                    Ok(details) => Reply::Neighbors(details),
                    Err(message) => Reply::Error { message },
                },
                Ok(Request::Routes) => Reply::Routes(backend.routes().await),
                Ok(Request::Follow) => return follow(reader, writer, backend.subscribe()).await,
                Ok(Request::EndpointAdd(add)) => match backend.endpoint_add(add).await {
                    Ok(endpoint) => Reply::Endpoint(endpoint),
                    Err(message) => Reply::Error { message },
                },
                Ok(Request::EndpointDel { name }) => match backend.endpoint_del(name.clone()).await
                {
                    Ok(existed) => Reply::EndpointDeleted { name, existed },
                    Err(message) => Reply::Error { message },
                },
                Ok(Request::Endpoints) => Reply::Endpoints(backend.endpoints().await),
            },
        };
        send(writer, &reply).await?;
    }
}

/// Streams events until the client hangs up or the daemon stops. The
/// subscription exists before `following` is sent, so a client that has
/// read it misses nothing after.
async fn follow(
    reader: &mut BufReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    mut events: broadcast::Receiver<SessionEvent>,
) -> io::Result<()> {
    send(writer, &Reply::Following).await?;
    // Whatever the client sends now is ignored; reading it is how a hang-up
    // is noticed while no events come.
    let mut ignored = [0u8; 512];
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => send(writer, &Reply::Event(event)).await?,
                Err(RecvError::Lagged(missed)) => send(writer, &Reply::Lagged { missed }).await?,
                Err(RecvError::Closed) => return Ok(()),
            },
            read = reader.read(&mut ignored) => {
                if read? == 0 {
                    return Ok(());
                }
            }
        }
    }
}

async fn send(writer: &mut OwnedWriteHalf, reply: &Reply) -> io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await
}

enum Line {
    /// `line` holds one request line, newline excluded.
    Complete,
    /// The line exceeded [`MAX_REQUEST_LINE`] and was skipped.
    TooLong,
    End,
}

/// Reads up to the next newline, keeping at most [`MAX_REQUEST_LINE`]
/// bytes: the rest of a longer line is consumed and dropped, so the next
/// line is read normally. A last line without a newline still counts.
async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> io::Result<Line> {
    line.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Complete,
            });
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = match newline {
            Some(end) => available.split_at(end).0,
            None => available,
        };
        let consumed = chunk.len() + usize::from(newline.is_some());
        if !too_long {
            if line.len() + chunk.len() > MAX_REQUEST_LINE {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(consumed);
        if newline.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use tokio::sync::oneshot;

    use super::*;
    use crate::api::protocol::EventKind;

    struct Canned {
        events: broadcast::Sender<SessionEvent>,
    }

    impl Canned {
        fn new(capacity: usize) -> Arc<Self> {
            Arc::new(Canned {
                events: broadcast::channel(capacity).0,
            })
        }
    }

    impl Backend for Canned {
        fn summary(&self) -> Summary {
            Summary {
                router_id: "192.0.2.2".into(),
                local_as: 65001,
                neighbors: vec![],
            }
        }
        fn neighbors(&self, address: Option<IpAddr>) -> Result<NeighborDetails, String> {
            match address {
                None => Ok(NeighborDetails { neighbors: vec![] }),
                Some(a) => Err(format!("no neighbor {a} configured")),
            }
        }
        async fn routes(&self) -> Routes {
            Routes { routes: vec![] }
        }
        fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
            self.events.subscribe()
        }
        async fn endpoint_add(&self, add: EndpointAdd) -> Result<EndpointView, String> {
            Err(format!("no tenant {}", add.tenant))
        }
        async fn endpoint_del(&self, _name: String) -> Result<bool, String> {
            Ok(false)
        }
        async fn endpoints(&self) -> EndpointList {
            EndpointList { endpoints: vec![] }
        }
    }

    /// A fresh directory per test, removed when the test ends.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("romana-bgp-server-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Scratch(dir)
        }
        fn socket(&self) -> PathBuf {
            self.0.join("run").join("api.sock")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct Running {
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<Result<(), ApiError>>,
    }

    async fn start(path: &Path, backend: Arc<Canned>) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let path_owned = path.to_path_buf();
        let task = tokio::spawn(async move {
            serve(&path_owned, backend, async {
                let _ = stopped.await;
            })
            .await
        });
        for _ in 0..200 {
            if UnixStream::connect(path).await.is_ok() {
                return Running { stop, task };
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("control socket never came up at {}", path.display());
    }

    impl Running {
        async fn stop(self) {
            let _ = self.stop.send(());
            self.task.await.unwrap().unwrap();
        }
    }

    struct Conversation {
        reader: BufReader<OwnedReadHalf>,
        writer: OwnedWriteHalf,
    }

    impl Conversation {
        async fn open(path: &Path) -> Self {
            let (read, writer) = UnixStream::connect(path).await.unwrap().into_split();
            Conversation {
                reader: BufReader::new(read),
                writer,
            }
        }
        async fn say(&mut self, bytes: &[u8]) {
            self.writer.write_all(bytes).await.unwrap();
        }
        async fn hear(&mut self) -> Reply {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            serde_json::from_str(&line).unwrap()
        }
    }

    fn event(count: u64) -> SessionEvent {
        SessionEvent {
            at_ms: count,
            neighbor: "192.0.2.1".parse().unwrap(),
            kind: EventKind::PrefixesAccepted { count },
        }
    }

    #[tokio::test]
    async fn socket_is_private_and_removed_on_shutdown() {
        let scratch = Scratch::new("private");
        let path = scratch.socket();
        let running = start(&path, Canned::new(4)).await;
        let socket_mode = std::fs::metadata(&path).unwrap().mode();
        assert_eq!(socket_mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // Only the socket is left in the directory: the staging name is gone.
        let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("api.sock")]);
        running.stop().await;
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_second_daemon_on_the_same_socket_is_refused() {
        let scratch = Scratch::new("second");
        let path = scratch.socket();
        let running = start(&path, Canned::new(4)).await;
        let second = serve(&path, Canned::new(4), async {}).await;
        assert!(
            matches!(second, Err(ApiError::AlreadyServing { .. })),
            "{second:?}"
        );
        // The first one still serves.
        let mut talk = Conversation::open(&path).await;
        talk.say(b"{\"request\":\"summary\"}\n").await;
        assert!(matches!(talk.hear().await, Reply::Summary(_)));
        running.stop().await;
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_other_files_are_not() {
        let scratch = Scratch::new("stale");
        let path = scratch.socket();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let running = start(&path, Canned::new(4)).await;
        running.stop().await;

        std::fs::write(&path, "not a socket").unwrap();
        let refused = serve(&path, Canned::new(4), async {}).await;
        assert!(
            matches!(refused, Err(ApiError::NotASocket { .. })),
            "{refused:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
    }

    #[tokio::test]
    async fn bad_lines_get_an_error_and_the_connection_stays_usable() {
        let scratch = Scratch::new("bad-lines");
        let path = scratch.socket();
        let running = start(&path, Canned::new(4)).await;
        let mut talk = Conversation::open(&path).await;

        talk.say(b"not json\n").await;
        let Reply::Error { message } = talk.hear().await else {
            panic!("malformed request not answered with an error")
        };
        assert!(message.starts_with("malformed request"), "{message}");

        let mut long = vec![b' '; MAX_REQUEST_LINE + 1];
        long.push(b'\n');
        talk.say(&long).await;
        let Reply::Error { message } = talk.hear().await else {
            panic!("over-long request not answered with an error")
        };
        assert_eq!(message, "request longer than 65536 bytes; discarded unread");

        // Blank lines are skipped; the daemon's own refusal passes through.
        talk.say(b"\n{\"request\":\"neighbors\",\"address\":\"192.0.2.9\"}\n")
            .await;
        assert_eq!(
            talk.hear().await,
            Reply::Error {
                message: "no neighbor 192.0.2.9 configured".into()
            }
        );
        talk.say(b"{\"request\":\"routes\"}").await;
        talk.writer.shutdown().await.unwrap();
        assert_eq!(talk.hear().await, Reply::Routes(Routes { routes: vec![] }));
        running.stop().await;
    }

    #[tokio::test]
    async fn a_request_of_exactly_the_limit_is_read() {
        let mut request = br#"{"request":"summary"}"#.to_vec();
        request.resize(MAX_REQUEST_LINE, b' ');
        request.push(b'\n');
        let mut reader = BufReader::with_capacity(1000, &request[..]);
        let mut line = Vec::new();
        assert!(matches!(
            read_line(&mut reader, &mut line).await.unwrap(),
            Line::Complete
        ));
        assert_eq!(line.len(), MAX_REQUEST_LINE);
        assert!(matches!(
            read_line(&mut reader, &mut line).await.unwrap(),
            Line::End
        ));
    }

    #[tokio::test]
    async fn a_lagging_follower_is_told_how_many_events_it_missed() {
        let scratch = Scratch::new("lagging");
        let path = scratch.socket();
        let backend = Canned::new(2);
        let running = start(&path, Arc::clone(&backend)).await;
        let mut talk = Conversation::open(&path).await;
        talk.say(b"{\"request\":\"follow\"}\n").await;
        assert_eq!(talk.hear().await, Reply::Following);
        // Five events into a channel of two, with no await in between: the
        // server's receiver cannot keep up.
        for n in 1..=5 {
            backend.events.send(event(n)).unwrap();
        }
        assert_eq!(talk.hear().await, Reply::Lagged { missed: 3 });
        assert_eq!(talk.hear().await, Reply::Event(event(4)));
        assert_eq!(talk.hear().await, Reply::Event(event(5)));
        backend.events.send(event(6)).unwrap();
        assert_eq!(talk.hear().await, Reply::Event(event(6)));
        running.stop().await;
    }

    #[tokio::test]
    async fn one_client_too_many_is_told_to_come_back_later() {
        let scratch = Scratch::new("too-many");
        let path = scratch.socket();
        let running = start(&path, Canned::new(4)).await;
        let mut served = Vec::new();
        for _ in 0..MAX_CLIENTS {
            served.push(Conversation::open(&path).await);
        }
        let mut extra = Conversation::open(&path).await;
        assert_eq!(
            extra.hear().await,
            Reply::Error {
                message: "romana-bgp is serving 64 clients already; try again later".into()
            }
        );
        let first = served.first_mut().unwrap();
        first.say(b"{\"request\":\"summary\"}\n").await;
        assert!(matches!(first.hear().await, Reply::Summary(_)));
        running.stop().await;
    }

    #[tokio::test]
    async fn followers_are_disconnected_on_shutdown() {
        let scratch = Scratch::new("shutdown");
        let path = scratch.socket();
        let running = start(&path, Canned::new(4)).await;
        let mut talk = Conversation::open(&path).await;
        talk.say(b"{\"request\":\"follow\"}\n").await;
        assert_eq!(talk.hear().await, Reply::Following);
        running.stop().await;
        let mut rest = String::new();
        assert_eq!(talk.reader.read_line(&mut rest).await.unwrap(), 0);
    }
}
