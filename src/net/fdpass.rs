//! Descriptor passing over Unix sockets (SCM_RIGHTS), and raw `recv` with flags.

use std::io;
use std::os::fd::RawFd;

/// Sends `fd` with one data byte (Linux needs at least one). Returns the bytes sent.
pub fn send_fd(sock: RawFd, fd: RawFd) -> io::Result<usize> {
    let mut byte = [1u8];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer has room for one cmsg carrying one descriptor.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut RawFd, fd);
    }
    // SAFETY: msg points at valid buffers for the duration of the call.
    let n = unsafe { libc::sendmsg(sock, &msg, send_flags()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Receives one byte and the descriptor that came with it: `Ok(Some(fd))`, `Ok(None)` when
/// the byte carried no descriptor, `Err(UnexpectedEof)` at the end of the stream.
pub fn recv_fd(sock: RawFd) -> io::Result<Option<RawFd>> {
    let mut byte = [0u8];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: as in send_fd.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg points at valid buffers for the duration of the call.
    let n = unsafe { libc::recvmsg(sock, &mut msg, recv_flags()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    // SAFETY: walking the control messages the kernel wrote into our buffer.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd);
                #[cfg(not(target_os = "linux"))]
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                return Ok(Some(fd));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(None)
}

fn send_flags() -> libc::c_int {
    #[cfg(target_os = "linux")]
    return libc::MSG_NOSIGNAL;
    #[cfg(not(target_os = "linux"))]
    return 0;
}

fn recv_flags() -> libc::c_int {
    #[cfg(target_os = "linux")]
    return libc::MSG_CMSG_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    return 0;
}

/// `recv(2)` with flags (MSG_PEEK, MSG_OOB, ...) into `buf`.
pub fn recv(sock: RawFd, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    // SAFETY: buf is a valid writable buffer of the given length.
    let n = unsafe { libc::recv(sock, buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// `send(2)` with flags (never raising SIGPIPE).
pub fn send(sock: RawFd, data: &[u8], flags: i32) -> io::Result<usize> {
    // SAFETY: data is a valid readable buffer of the given length.
    let n = unsafe { libc::send(sock, data.as_ptr().cast(), data.len(), flags | send_flags()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Sends up to `count` bytes of file `src` from `offset` without moving its position.
pub fn sendfile(sock: RawFd, src: RawFd, offset: u64, count: usize) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut off = offset as libc::off_t;
        // SAFETY: plain descriptors and a local offset.
        let n = unsafe { libc::sendfile(sock, src, &mut off, count) };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut buf = vec![0u8; count.min(64 * 1024)];
        // SAFETY: reading into a local buffer.
        let got = unsafe { libc::pread(src, buf.as_mut_ptr().cast(), buf.len(), offset as libc::off_t) };
        if got <= 0 {
            return if got == 0 { Ok(0) } else { Err(io::Error::last_os_error()) };
        }
        // SAFETY: writing from a local buffer.
        let n = unsafe { libc::send(sock, buf.as_ptr().cast(), got as usize, 0) };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
    }
}
