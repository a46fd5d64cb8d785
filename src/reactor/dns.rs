//! Name resolution on a small pool of worker threads. `getaddrinfo` blocks, so it never
//! runs on the reactor thread; workers send results back and wake the poller.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use polling::Poller;

/// Address family filter for a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Any,
    Inet,
    Inet6,
}

/// A failed lookup: the resolver's message and its `EAI_*` code.
pub type DnsError = (String, i32);
pub type DnsResult = Result<Vec<IpAddr>, DnsError>;

struct Job {
    id: usize,
    host: String,
    family: Family,
}

const MAX_WORKERS: usize = 4;

pub struct DnsPool {
    jobs: Sender<Job>,
    job_rx: Arc<Mutex<Receiver<Job>>>,
    results_tx: Sender<(usize, DnsResult)>,
    pub results: Receiver<(usize, DnsResult)>,
    poller: Arc<Poller>,
    workers: usize,
    idle: Arc<AtomicUsize>,
}

impl DnsPool {
    pub fn new(poller: Arc<Poller>) -> Self {
        let (jobs, job_rx) = channel();
        let (results_tx, results) = channel();
        DnsPool {
            jobs,
            job_rx: Arc::new(Mutex::new(job_rx)),
            results_tx,
            results,
            poller,
            workers: 0,
            idle: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Queues a lookup; a worker is started if none is idle (up to `MAX_WORKERS`).
    pub fn submit(&mut self, id: usize, host: String, family: Family) -> std::io::Result<()> {
        if self.idle.load(Ordering::Acquire) == 0 && self.workers < MAX_WORKERS {
            self.spawn_worker()?;
        }
        self.jobs.send(Job { id, host, family }).map_err(|_| std::io::Error::other("DNS worker pool stopped"))
    }

    fn spawn_worker(&mut self) -> std::io::Result<()> {
        let rx = Arc::clone(&self.job_rx);
        let tx = self.results_tx.clone();
        let poller = Arc::clone(&self.poller);
        let idle = Arc::clone(&self.idle);
        std::thread::Builder::new().name("rlua-net-dns".into()).spawn(move || {
            super::block_signals_here();
            loop {
                idle.fetch_add(1, Ordering::AcqRel);
                let job = match rx.lock() {
                    Ok(guard) => guard.recv(),
                    Err(_) => return,
                };
                idle.fetch_sub(1, Ordering::AcqRel);
                let Ok(job) = job else { return };
                let result = lookup(&job.host, job.family);
                if tx.send((job.id, result)).is_err() {
                    return;
                }
                let _ = poller.notify();
            }
        })?;
        self.workers += 1;
        Ok(())
    }
}

/// Resolves `host` to unique addresses in resolver order.
pub fn lookup(host: &str, family: Family) -> DnsResult {
    let hints = dns_lookup::AddrInfoHints {
        flags: 0,
        address: match family {
            Family::Any => libc::AF_UNSPEC,
            Family::Inet => libc::AF_INET,
            Family::Inet6 => libc::AF_INET6,
        },
        socktype: libc::SOCK_STREAM,
        protocol: 0,
    };
    let iter = dns_lookup::getaddrinfo(Some(host), None, Some(hints))
        .map_err(|e| (gai_message(e.error_num()), e.error_num()))?;
    let mut out: Vec<IpAddr> = Vec::new();
    for ai in iter.flatten() {
        let ip = ai.sockaddr.ip();
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    if out.is_empty() {
        return Err(("no address found".into(), libc::EAI_NONAME));
    }
    Ok(out)
}

/// The resolver's own words for an `EAI_*` code ("Name or service not known").
fn gai_message(code: i32) -> String {
    // SAFETY: gai_strerror returns a pointer to a static NUL-terminated string.
    let text = unsafe { libc::gai_strerror(code) };
    if text.is_null() {
        return format!("name resolution failed ({code})");
    }
    // SAFETY: non-null, NUL-terminated, static.
    unsafe { std::ffi::CStr::from_ptr(text) }.to_string_lossy().into_owned()
}
