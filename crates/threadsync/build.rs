//! Marks the PostgreSQL tests ignored (with the reason) when no server is
//! configured, never under CI; the rule is shared by every crate with
//! PostgreSQL tests. And links the server binary so that it starts small.

include!("../build-support/postgres_tests.rs");

fn main() {
    postgres_tests();
    link_options();
}

/// Link options that make the idle server smaller, for lld on x86_64 Linux
/// (BENCHMARKS.md, "Idle RSS: the start-up code laid out together").
///
/// lld is what rustc links x86_64 Linux with by default since 1.90; GNU ld
/// knows neither option. So they are passed only there, not when the build
/// names another linker, and `THREADSYNC_DEFAULT_LINK=1` turns them off.
fn link_options() {
    println!("cargo::rerun-if-changed=startup-order.txt");
    println!("cargo::rerun-if-env-changed=THREADSYNC_DEFAULT_LINK");
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("TARGET") != "x86_64-unknown-linux-gnu" || !var("THREADSYNC_DEFAULT_LINK").is_empty() {
        return;
    }
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    if ["linker", "fuse-ld"].iter().any(|option| flags.contains(option))
        || !var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        || !rustc_links_with_lld()
    {
        return;
    }
    startup_order(&var("CARGO_MANIFEST_DIR"));
    // Relative relocations packed as bitmaps (DT_RELR): the dynamic
    // loader reads the whole relocation table at every start, 1 MiB of
    // RELA entries against 14 KiB. glibc loads such binaries from 2.36 on
    // (the link records that it needs it), so only a build for the machine
    // it runs on, with that glibc, asks for it.
    if var("HOST") == var("TARGET") && glibc_at_least(2, 36) {
        println!("cargo::rustc-link-arg-bin=threadsync=-Wl,-z,pack-relative-relocs");
    }
}

/// Links the functions listed in `startup-order.txt` first and together in
/// `.text`: what `serve` runs until it is idle, then what its common
/// requests run.
///
/// Why: the kernel maps an executable's code from the page cache a folio
/// at a time (about 150 KiB per fault on this machine's kernel), so the
/// start-up code, 2.2 MiB spread over 16 MiB of `.text` by the default
/// layout, left 12.6 MiB of code resident in an idle server; laid out
/// together, about 5 MiB. The requests' code follows it, so a busy server
/// maps fewer pages too. A layout only: a name the list has and the build
/// does not (code changed since `scripts/startup-order/collect.sh` last
/// ran) is skipped, and nothing else changes.
fn startup_order(manifest_dir: &str) {
    let list = std::path::Path::new(manifest_dir).join("startup-order.txt");
    // `-Wl,` splits its argument at commas.
    if !list.exists() || list.to_string_lossy().contains(',') {
        return;
    }
    println!("cargo::rustc-link-arg-bin=threadsync=-Wl,--symbol-ordering-file={}", list.display());
    println!("cargo::rustc-link-arg-bin=threadsync=-Wl,--no-warn-symbol-ordering");
}

/// Whether rustc is 1.90 or later, the first to link x86_64 Linux with its
/// own lld by default.
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    version_at_least(&command_output(&rustc, &["--version"]), 1, 90)
}

/// Whether this machine's glibc is `major.minor` or later.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    // "glibc 2.36"
    version_at_least(&command_output("getconf", &["GNU_LIBC_VERSION"]), major, minor)
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether the second word of `text` is a version `major.minor` or later.
fn version_at_least(text: &str, major: u32, minor: u32) -> bool {
    let mut numbers = text.split_whitespace().nth(1).unwrap_or("").split(['.', '-']);
    let mut next = || numbers.next().and_then(|n| n.parse::<u32>().ok());
    match (next(), next()) {
        (Some(found_major), Some(found_minor)) => (found_major, found_minor) >= (major, minor),
        _ => false,
    }
}
