//! The `romana-bgp` command line: parse, dispatch, print. The work is done
//! in the library (`romana_bgp::api` for the client commands, `daemon` for
//! `run`).

use std::io::{self, IsTerminal, Write};
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use romana_bgp::api::client::{self, Client, ClientError};
use romana_bgp::api::protocol::{DEFAULT_SOCKET, EndpointAdd};
use romana_bgp::api::render::{self, Style};
use romana_bgp::{config, daemon};

const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  the daemon answered with an error (e.g. no such neighbor), or the config is invalid
  2  usage error
  3  the daemon cannot be reached (not running, or the socket is not accessible)";

const EXAMPLES: &str = "\
Examples:
  romana-bgp run --config /etc/romana-bgp/romana-bgp.toml
  romana-bgp run --check --config /etc/romana-bgp/romana-bgp.toml
  romana-bgp show
  romana-bgp show neighbors 192.168.10.1
  romana-bgp show routes -o json
  romana-bgp show follow
  romana-bgp endpoint add --tenant blue --segment web --netns web-1
  romana-bgp endpoint add --tenant blue --segment db --iface tap0 --name db-vm -o json
  romana-bgp endpoint del web-1
  romana-bgp endpoint list";

/// How often `show follow` tries to reconnect after losing the daemon.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

#[derive(Parser)]
#[command(
    name = "romana-bgp",
    version,
    about = "Host BGP speaker for routed-access datacenters: announces this host's \
             block to its leaf switches and installs what they send",
    after_help = format!("{EXIT_STATUS}\n\n{EXAMPLES}"),
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    client: ClientOptions,
    #[command(subcommand)]
    command: Command,
}

/// Options of every client command, accepted anywhere on the line.
#[derive(Args)]
struct ClientOptions {
    /// Control socket of the running daemon (client commands)
    /// [default: /run/romana-bgp/romana-bgp.sock]
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Output format (client commands): text for people, json for scripts
    #[arg(
        short = 'o',
        long = "output",
        global = true,
        value_enum,
        value_name = "FORMAT"
    )]
    output: Option<Output>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground, logging to stderr (RUST_LOG filters,
    /// default info)
    #[command(after_help = EXIT_STATUS)]
    Run(RunArgs),
    /// Ask the running daemon: neighbor summary, neighbor detail, routes, or
    /// follow session events
    #[command(
        long_about = "Ask the running daemon over its control socket.\n\n\
            Without a subcommand, prints the neighbor summary, one line per \
            neighbor: Neighbor, V, AS, MsgRcvd, MsgSent, Up/Down (time since \
            the session went up or down, `never`), State/PfxRcd (accepted \
            prefixes when Established, the state otherwise), PfxSnt, Last \
            error (the last NOTIFICATION sent or received, decoded).",
        after_help = format!("{EXIT_STATUS}\n\n{EXAMPLES}")
    )]
    Show(ShowArgs),
    /// Add, delete or list the VMs and containers of this host
    #[command(
        subcommand,
        long_about = "Endpoints are the VMs and containers of this host. Each gets an \
            address out of the host's block, in its tenant's and segment's part of \
            the plan, and the host routes it with a /32 to its interface; the \
            fabric still learns only the host's one aggregate.",
        after_help = format!("{EXIT_STATUS}\n\n{EXAMPLES}")
    )]
    Endpoint(EndpointCommand),
}

#[derive(Subcommand)]
enum EndpointCommand {
    /// Allocate the lowest free address in the tenant's segment and wire the
    /// endpoint: a container gets a veth pair with `eth0` inside its network
    /// namespace (address and default route via the gateway); a VM's existing
    /// tap gets the host side only. Adding a name that exists returns that
    /// endpoint unchanged.
    Add(EndpointAddArgs),
    /// Unwire an endpoint and release its address; deleting a name that does
    /// not exist is not an error
    Del {
        /// The endpoint's name
        name: String,
    },
    /// Every endpoint: tenant, segment, address, interface, wired or not
    List,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("attachment").required(true).args(["netns", "iface"]))]
struct EndpointAddArgs {
    /// Tenant name, as in the config's [[tenant]]
    #[arg(long)]
    tenant: String,
    /// Segment name within the tenant
    #[arg(long)]
    segment: String,
    /// A container: its network namespace, by name (/run/netns/NAME) or path
    #[arg(long, value_name = "NAME_OR_PATH")]
    netns: Option<String>,
    /// A VM: its existing tap interface on the host
    #[arg(long, value_name = "IF")]
    iface: Option<String>,
    /// The endpoint's name, unique on the host [default: derived from the
    /// address]
    #[arg(long)]
    name: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    /// The TOML config file
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Validate the config and exit: prints `config OK: FILE`, or the error
    /// naming the key and exits 1
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct ShowArgs {
    /// Same as `show follow`
    #[arg(short = 'f', long = "follow")]
    follow: bool,
    #[command(subcommand)]
    what: Option<ShowWhat>,
}

#[derive(Clone, Copy, Subcommand)]
enum ShowWhat {
    /// Per neighbor: state, negotiated capabilities, hold and keepalive
    /// time, counters, last NOTIFICATION sent and received
    Neighbors {
        /// Only this neighbor
        address: Option<IpAddr>,
    },
    /// Routes accepted by the import policy: prefix, next hop, neighbor, AS
    /// path, and whether the route is in the kernel
    Routes,
    /// The endpoints of this host: tenant, segment, address, interface,
    /// wired or not (same as `endpoint list`)
    Endpoints,
    /// Print one timestamped line per session event (state change,
    /// NOTIFICATION sent or received, accepted-prefix count change) until
    /// interrupted; survives a daemon restart by reconnecting every second
    Follow,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            if cli.client.socket.is_some() || cli.client.output.is_some() {
                Cli::command()
                    .error(
                        ErrorKind::ArgumentConflict,
                        "`run` takes its socket from the config file ([api] socket); \
                         --socket and -o are options of the client commands",
                    )
                    .exit();
            }
            run(&args)
        }
        Command::Show(args) => {
            let what = match (args.follow, args.what) {
                (true, Some(_)) => Cli::command()
                    .error(
                        ErrorKind::ArgumentConflict,
                        "-f/--follow is `show follow`; it takes no other subcommand",
                    )
                    .exit(),
                (true, None) => Some(ShowWhat::Follow),
                (false, what) => what,
            };
            let socket = cli
                .client
                .socket
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
            show(what, &socket, cli.client.output.unwrap_or(Output::Text))
        }
        Command::Endpoint(command) => {
            let socket = cli
                .client
                .socket
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
            endpoint(command, &socket, cli.client.output.unwrap_or(Output::Text))
        }
    }
}

fn run(args: &RunArgs) -> ExitCode {
    if !args.check {
        init_logging();
    }
    let config = match config::Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => return fail(1, &e),
    };
    if args.check {
        return match writeln!(io::stdout(), "config OK: {}", args.config.display()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(1, &e),
        };
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(1, &format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(daemon::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = log_filter(rust_log.as_deref()).unwrap_or_else(|e| {
        eprintln!("romana-bgp: RUST_LOG ignored, logging at info: {e}");
        info_and_above()
    });
    let colour = Style::detect(
        io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    ) == Style::COLOUR;
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(colour)
        .finish()
        .with(filter)
        .init();
}

/// `RUST_LOG`: a default level and `target=level` pairs, separated by
/// commas (`info,romana_bgp::speaker=debug`); `info` when unset or empty.
/// A plain list of targets and levels needs no regular expressions, which
/// would cost the resident daemon a quarter of a megabyte of code.
fn log_filter(
    rust_log: Option<&str>,
) -> Result<tracing_subscriber::filter::Targets, tracing_subscriber::filter::ParseError> {
    match rust_log.map(str::trim) {
        None | Some("") => Ok(info_and_above()),
        Some(text) => text.parse(),
    }
}

fn info_and_above() -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new()
        .with_default(tracing_subscriber::filter::LevelFilter::INFO)
}

fn endpoint(command: EndpointCommand, socket: &Path, output: Output) -> ExitCode {
    let style = Style::detect(
        io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let answer = match command {
        EndpointCommand::Add(args) => {
            let add = EndpointAdd {
                name: args.name,
                tenant: args.tenant,
                segment: args.segment,
                netns: args.netns,
                iface: args.iface,
            };
            ask(socket, |c| c.endpoint_add(add))
                .map(|e| formatted(output, &e, |e| render::endpoint(e, style)))
        }
        EndpointCommand::Del { name } => ask(socket, |c| c.endpoint_del(&name)).map(|existed| {
            let reply = serde_json::json!({ "name": name, "existed": existed });
            formatted(output, &reply, |_| {
                if existed {
                    format!("endpoint {name} deleted\n")
                } else {
                    format!("no endpoint {name}; nothing to do\n")
                }
            })
        }),
        EndpointCommand::List => ask(socket, Client::endpoints)
            .map(|e| formatted(output, &e, |e| render::endpoints(e, style))),
    };
    match answer {
        Ok(text) => print(text),
        Err(e) => fail(e.exit_code(), &e),
    }
}

fn show(what: Option<ShowWhat>, socket: &Path, output: Output) -> ExitCode {
    let style = Style::detect(
        io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let answer = match what {
        Some(ShowWhat::Follow) => return follow(socket, output),
        None => ask(socket, Client::summary)
            .map(|s| formatted(output, &s, |s| render::summary(s, style))),
        Some(ShowWhat::Neighbors { address }) => ask(socket, |c| c.neighbors(address))
            .map(|n| formatted(output, &n, |n| render::neighbors(n, style))),
        Some(ShowWhat::Routes) => {
            ask(socket, Client::routes).map(|r| formatted(output, &r, |r| render::routes(r, style)))
        }
        Some(ShowWhat::Endpoints) => ask(socket, Client::endpoints)
            .map(|e| formatted(output, &e, |e| render::endpoints(e, style))),
    };
    match answer {
        Ok(text) => print(text),
        Err(e) => fail(e.exit_code(), &e),
    }
}

/// One connection, one request.
fn ask<T>(
    socket: &Path,
    request: impl FnOnce(&mut Client) -> Result<T, ClientError>,
) -> Result<T, ClientError> {
    request(&mut Client::connect(socket)?)
}

fn formatted<T: serde::Serialize>(
    output: Output,
    answer: &T,
    text: impl FnOnce(&T) -> String,
) -> io::Result<String> {
    match output {
        Output::Text => Ok(text(answer)),
        Output::Json => render::json(answer).map_err(io::Error::other),
    }
}

fn follow(socket: &Path, output: Output) -> ExitCode {
    let mut stdout = io::stdout().lock();
    let mut write_error = None;
    let followed = client::follow(socket, RECONNECT_EVERY, |notice| {
        let line = match output {
            Output::Text => Ok(render::follow_line(&notice)),
            Output::Json => render::follow_json(&notice).map_err(io::Error::other),
        };
        // Flush per event, so a pipe sees each one as it happens.
        match line.and_then(|line| {
            stdout.write_all(line.as_bytes())?;
            stdout.flush()
        }) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                write_error = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    match (followed, write_error) {
        (Err(e), _) => fail(e.exit_code(), &e),
        (Ok(()), Some(e)) => output_failed(&e),
        (Ok(()), None) => ExitCode::SUCCESS,
    }
}

fn print(text: io::Result<String>) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match text.and_then(|text| {
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output_failed(&e),
    }
}

/// A reader that went away (`romana-bgp show | head`) is not an error.
fn output_failed(e: &io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        fail(1, &format!("cannot write the output: {e}"))
    }
}

/// Errors are whole sentences that name what failed; no prefix needed.
fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    let _ = writeln!(io::stderr(), "{error}");
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::log_filter;

    #[test]
    fn rust_log_takes_a_default_and_levels_per_target() {
        let filter = log_filter(Some("info,romana_bgp::speaker=debug")).expect("valid");
        assert!(filter.would_enable("romana_bgp::speaker::neighbor", &Level::DEBUG));
        assert!(!filter.would_enable("romana_bgp::daemon", &Level::DEBUG));
        assert!(filter.would_enable("romana_bgp::daemon", &Level::INFO));
        let debug = log_filter(Some("debug")).expect("valid");
        assert!(debug.would_enable("romana_bgp::daemon", &Level::DEBUG));
        assert!(!debug.would_enable("romana_bgp::daemon", &Level::TRACE));
    }

    #[test]
    fn unset_or_empty_is_info() {
        for unset in [None, Some(""), Some("  ")] {
            let filter = log_filter(unset).expect("valid");
            assert!(filter.would_enable("romana_bgp::daemon", &Level::INFO));
            assert!(!filter.would_enable("romana_bgp::daemon", &Level::DEBUG));
        }
    }

    #[test]
    fn a_level_that_does_not_exist_is_refused() {
        assert!(log_filter(Some("romana_bgp=loud")).is_err());
    }
}
