//! Process-level settings: SIGPIPE, the descriptor limit, library versions.

/// A write to a closed peer must return EPIPE, never kill the process.
pub fn ignore_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_IGN is async-signal-safe and global.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit so servers are not capped at 1,024.
pub fn raise_fd_limit() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= lim.rlim_max {
            return;
        }
        let mut want = lim;
        want.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) != 0 {
            // macOS refuses RLIM_INFINITY; its per-process ceiling is OPEN_MAX-like.
            want.rlim_cur = want.rlim_max.min(10240);
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &want);
        }
    }
}

/// The TLS library native-tls uses on this platform.
pub fn tls_library_version() -> String {
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
    {
        openssl::version::version().to_string()
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        "Security.framework".to_string()
    }
    #[cfg(target_os = "windows")]
    {
        "SChannel".to_string()
    }
}
