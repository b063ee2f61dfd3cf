//! `threadsync serve`: open the store, bootstrap, serve HTTP until a signal,
//! then drain and close.

use crate::config::Config;
use anyhow::Context;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use threadsync_service::{bootstrap, AdminSeed, BootstrapReport, ServiceOptions, Services};
use threadsync_storage::{BlobStore, FallbackBlobs, Store};
use threadsync_storage_files::DiskBlobs;
use threadsync_storage_postgres::{PgOptions, PgStore};
use threadsync_storage_sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;

/// How long in-flight requests get to finish after a stop signal. A client
/// holding a connection open must not keep the server (and the store) from
/// closing forever; a second signal skips the wait altogether.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Picks and opens the storage backend: PostgreSQL when a database URL is
/// given, else the embedded SQLite store. The only place that knows which
/// backends exist.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = &config.database_url {
        return Ok(Arc::new(open_postgres(config, url).await?));
    }
    open_sqlite(config).await
}

async fn open_postgres(config: &Config, url: &str) -> anyhow::Result<PgStore> {
    let options = PgOptions {
        schema: config.pg_schema.clone(),
        pool_size: config.pg_pool_size,
        read_connections: config.pg_read_connections,
        connect_attempts: config.pg_connect_attempts,
        ca_file: config.pg_ca_file.clone(),
        ..PgOptions::default()
    };
    // The URL is never echoed: it usually carries a password. The store's
    // error names host, port and database only.
    PgStore::connect(url, options).await.context("cannot open the PostgreSQL store")
}

/// The store and where uploaded files' bytes live (docs/files.md): on
/// SQLite, the data directory's `uploads` folder; on PostgreSQL, the
/// database itself, so that every instance serves every file, with the
/// `uploads` folder still read for files stored there before.
async fn open_backends(config: &Config) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn BlobStore>)> {
    let uploads = config.data.join("uploads");
    let disk = |store: Arc<dyn Store>| async move {
        match DiskBlobs::open(&uploads).await {
            Ok(blobs) => Ok(blobs),
            Err(e) => {
                store.close().await;
                Err(anyhow::Error::new(e)
                    .context(format!("cannot open the file store in {}", uploads.display())))
            }
        }
    };
    let Some(url) = &config.database_url else {
        let store = open_sqlite(config).await?;
        let blobs = disk(Arc::clone(&store)).await?;
        return Ok((store, Arc::new(blobs)));
    };
    let pg = open_postgres(config, url).await?;
    let in_database = match pg.blob_store().await {
        Ok(blobs) => blobs,
        Err(e) => {
            pg.close().await;
            return Err(anyhow::Error::new(e).context("cannot open the file store in PostgreSQL"));
        }
    };
    let store: Arc<dyn Store> = Arc::new(pg);
    let legacy = disk(Arc::clone(&store)).await?;
    Ok((store, Arc::new(FallbackBlobs::new(Arc::new(in_database), Arc::new(legacy)))))
}

async fn open_sqlite(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let options = SqliteOptions { readers: config.sqlite_readers };
    let store = SqliteStore::open(&config.data, options)
        .await
        .with_context(|| format!("cannot open the SQLite store in {}", config.data.display()))?;
    Ok(Arc::new(store))
}

/// Runs the server until SIGINT/SIGTERM, then shuts down cleanly.
pub async fn run(config: Config) -> anyhow::Result<()> {
    // Installed before anything else so a signal that arrives while we start
    // (e.g. a supervisor that gives up) still leads to a clean stop, not to
    // the default action of killing the process mid-write.
    let mut signals = Signals::install()?;

    let files = crate::limits::raise_open_files();
    if files.after > files.before {
        tracing::info!(
            from = files.before,
            to = files.after,
            "raised the open-files limit to the hard limit"
        );
    } else if files.after < 4096 {
        // Each websocket client holds a descriptor: say so before clients
        // start failing to connect.
        tracing::warn!(
            limit = files.after,
            "the open-files limit caps the server at about this many connections; raise the hard limit (ulimit -Hn)"
        );
    }

    // Bound before the store is touched: a bad or taken address must fail
    // at once, without creating or migrating a data directory first.
    // Connections that arrive while the store opens wait in the backlog.
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;

    let (store, blobs) = open_backends(&config).await?;
    tracing::info!(backend = store.backend_name(), data = %config.data.display(), "store opened");
    let options = ServiceOptions {
        max_sync_items: config.max_sync_items,
        tombstone_retention_ms: config.tombstone_retention_days.map(|d| i64::from(d) * 86_400_000),
        presence_lease: std::time::Duration::from_secs(config.presence_lease_secs),
        create_tokens_for_users: config.create_tokens_for_users,
        create_tokens_secret: config.create_tokens_for_users_secret.clone(),
        ..ServiceOptions::default()
    };
    let services = match Services::start_with(Arc::clone(&store), blobs, options).await {
        Ok(services) => services,
        Err(e) => {
            store.close().await;
            return Err(anyhow::Error::new(e).context("cannot start the services"));
        }
    };

    // From here on every failure must still close the store.
    let result = serve(&config, listener, &services, &mut signals).await;
    services.shutdown().await;
    result?;
    tracing::info!("stopped");
    Ok(())
}

async fn serve(
    config: &Config,
    listener: TcpListener,
    services: &Arc<Services>,
    signals: &mut Signals,
) -> anyhow::Result<()> {
    let seed = admin_seed_from_env();
    let seed_username = seed.as_ref().map(|s| s.username.clone());
    let report = bootstrap(services, seed)
        .await
        .context("cannot initialise the database (GENERAL channel, first admin)")?;
    log_bootstrap(services, &report, seed_username.as_deref()).await;

    let addr = listener.local_addr().context("cannot read the bound address")?;
    announce(addr);

    // Messages stored by versions without `md` get it in the background
    // (docs/markup.md#messages-stored-before-md); the server answers
    // meanwhile.
    let backfill = tokio::spawn(backfill_markup(Arc::clone(services)));
    let pruner = services
        .options()
        .tombstone_retention_ms
        .map(|_| tokio::spawn(prune_tombstones(Arc::clone(services))));
    let uploads_sweeper = tokio::spawn(discard_expired_uploads(Arc::clone(services)));
    if config.bench_endpoints {
        tracing::warn!(
            "benchmark endpoints under /bench are mounted: they skip auth; never use this in production"
        );
    }
    let options = router_options(config);
    let app = threadsync_api::router_with(Arc::clone(services), options);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Connections are served with the edge's time and size limits (slow
    // clients cannot hold a connection, or the shutdown, for long), each
    // request carrying its peer's `ConnectInfo<SocketAddr>`.
    let stop = async move {
        // An error means the sender was dropped: stop as well.
        let _ = stop_rx.await;
    };
    let mut server = tokio::spawn(threadsync_api::server::serve(
        listener,
        app,
        stop,
        threadsync_api::limits::EdgeLimits::default(),
    ));

    tokio::select! {
        finished = &mut server => {
            // The server only ends by itself when its task fails.
            return match finished {
                Ok(()) => Ok(()),
                Err(e) => Err(anyhow::Error::new(e).context("the HTTP server task failed")),
            };
        }
        name = signals.recv() => {
            tracing::info!("{name} received; finishing in-flight requests");
        }
    }
    let _ = stop_tx.send(());
    // An unfinished backfill resumes at the next start (it walks what still
    // has no `md`); each of its writes is one statement, whole or not at all.
    backfill.abort();
    uploads_sweeper.abort();
    if let Some(pruner) = pruner {
        pruner.abort();
    }

    tokio::select! {
        finished = &mut server => if let Err(e) = finished {
            tracing::error!("the HTTP server task failed while stopping: {e}");
        },
        name = signals.recv() => {
            tracing::warn!("{name} received again; not waiting for in-flight requests");
            server.abort();
        }
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("in-flight requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
            server.abort();
        }
    }
    Ok(())
}

/// What the router serves besides the API. `config.bench_endpoints` is only
/// ever true in a build with the `bench-endpoints` feature (the
/// configuration refuses it otherwise).
fn router_options(config: &Config) -> threadsync_api::RouterOptions {
    #[cfg(feature = "bench-endpoints")]
    let options =
        threadsync_api::RouterOptions { bench_endpoints: config.bench_endpoints, ..Default::default() };
    #[cfg(not(feature = "bench-endpoints"))]
    let options = {
        debug_assert!(!config.bench_endpoints);
        threadsync_api::RouterOptions::default()
    };
    options
}

/// Logs the bound address and prints it on stdout as well: with
/// `--listen HOST:0` the port is only known now, and scripts and tests read
/// it from that one stable line (the log format may change).
fn announce(addr: SocketAddr) {
    tracing::info!("listening on http://{addr}");
    let mut stdout = std::io::stdout().lock();
    // A closed stdout must not stop the server; the log has the line too.
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
}

/// The first admin from `ADMIN_USERNAME`, `ADMIN_PASS`, `ADMIN_EMAIL`: all
/// three or nothing.
fn admin_seed_from_env() -> Option<AdminSeed> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (username, password, email) = (var("ADMIN_USERNAME"), var("ADMIN_PASS"), var("ADMIN_EMAIL"));
    match (username, password, email) {
        (Some(username), Some(password), Some(email)) => Some(AdminSeed { username, password, email }),
        (None, None, None) => None,
        (username, password, email) => {
            let missing: Vec<&str> = [
                ("ADMIN_USERNAME", username.is_none()),
                ("ADMIN_PASS", password.is_none()),
                ("ADMIN_EMAIL", email.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, is_missing)| is_missing.then_some(name))
            .collect();
            tracing::warn!("ignoring the ADMIN_* variables: {} not set", missing.join(", "));
            None
        }
    }
}

/// Says what the first-start bootstrap did. On a restart with `ADMIN_*`
/// set, says that they were ignored: a changed password or address there
/// changes nothing, and the operator must not believe otherwise.
async fn log_bootstrap(services: &Services, report: &BootstrapReport, seed_username: Option<&str>) {
    match report {
        BootstrapReport::AdminCreated { username } => {
            tracing::info!("admin {username} created; log in with POST /api/v1/login {{user, password}}");
        }
        BootstrapReport::NoAdmin => tracing::warn!(
            "no admin exists: set ADMIN_USERNAME, ADMIN_PASS and ADMIN_EMAIL and restart to create one, \
             or register a user with POST /api/v1/users.register"
        ),
        BootstrapReport::AlreadyInitialised => match seed_username {
            None => tracing::debug!("users exist; no ADMIN_* variables given"),
            Some(username) => match services.store().user_by_username(username).await {
                Ok(Some(_)) => tracing::info!(
                    "ADMIN_USERNAME, ADMIN_PASS and ADMIN_EMAIL are ignored: users already exist, and these \
                     variables only create the first admin on a first start; the password and email of \
                     {username} are not changed"
                ),
                Ok(None) => tracing::warn!(
                    "ADMIN_USERNAME, ADMIN_PASS and ADMIN_EMAIL are ignored: users already exist, and these \
                     variables only create the first admin on a first start; no user {username} was created \
                     (an existing admin can create one with POST /api/v1/users.create)"
                ),
                Err(e) => tracing::info!(
                    "ADMIN_USERNAME, ADMIN_PASS and ADMIN_EMAIL are ignored: users already exist, and these \
                     variables only create the first admin on a first start ({username} could not be \
                     looked up: {e})"
                ),
            },
        },
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (what `docker stop`, systemd and Kubernetes
/// send) both mean "stop cleanly".
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?,
        })
    }

    /// Waits for the next stop signal and names it.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Elsewhere only Ctrl-C exists.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals)
    }

    async fn recv(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            // No way to wait for a signal: never stop on one.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Messages per batch of the `md` backfill.
const BACKFILL_BATCH: u64 = 500;

/// Gives `md` to the messages stored before it existed, once, at start.
async fn backfill_markup(services: Arc<Services>) {
    match services.backfill_markup(BACKFILL_BATCH).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(messages = n, "markup (md) computed for messages stored without it"),
        Err(e) => tracing::warn!("computing md for older messages failed (retried at the next start): {e}"),
    }
}

/// How often uploads no message shared in time are looked for.
const SWEEP_UPLOADS_EVERY: Duration = Duration::from_secs(600);

/// Discards `rooms.media` uploads never confirmed (and uploads whose
/// message could not be sent) once they expire, now and then every ten
/// minutes. Every instance sweeps; a record is removed by one of them.
async fn discard_expired_uploads(services: Arc<Services>) {
    let mut every = tokio::time::interval(SWEEP_UPLOADS_EVERY);
    loop {
        every.tick().await;
        match services.discard_expired_uploads().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(discarded = n, "expired unshared uploads discarded"),
            Err(e) => tracing::warn!("discarding expired uploads failed: {e}"),
        }
    }
}

/// How often old tombstones are pruned when a retention is configured.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prunes tombstones older than the retention, now and then every hour.
/// Pruning is one write transaction that also moves the horizon, so a sync
/// from before it is refused rather than answered without the removals.
async fn prune_tombstones(services: Arc<Services>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        every.tick().await;
        match services.prune_tombstones().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "old tombstones pruned"),
            Err(e) => tracing::warn!("pruning tombstones failed: {e}"),
        }
    }
}
