//! Kafka's framing over TCP: a 4-byte big-endian size, then that many bytes of request or
//! response.

use std::os::fd::AsRawFd;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter, Interest};
use tokio::net::TcpStream;

use crate::log::FileRegion;

/// A piece of a response frame: bytes in memory, or bytes of a segment file sent with
/// `sendfile(2)` so they go from the page cache to the socket without passing through us.
#[derive(Debug, Clone)]
pub enum Part {
    /// Encoded protocol bytes.
    Bytes(Bytes),
    /// Record batches still in a segment file.
    File(FileRegion),
}

impl Part {
    fn len(&self) -> usize {
        match self {
            Part::Bytes(b) => b.len(),
            Part::File(r) => r.len,
        }
    }
}

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("connection closed")]
    Closed,
    /// A frame larger than `socket.request.max.bytes` (or negative).
    #[error("frame of {0} bytes exceeds socket.request.max.bytes ({1})")]
    TooLarge(i64, usize),
    /// Reading or writing failed (including a frame cut short).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One client connection.
pub struct Connection {
    stream: BufWriter<TcpStream>,
    max_frame: usize,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream, max_frame: usize) -> Self {
        let _ = stream.set_nodelay(true);
        Connection {
            stream: BufWriter::with_capacity(64 * 1024, stream),
            max_frame,
        }
    }

    /// Reads the next request frame.
    pub async fn read_frame(&mut self) -> Result<Bytes, FrameError> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(FrameError::Closed);
            }
            Err(e) => return Err(e.into()),
        }
        let size = i32::from_be_bytes(size) as i64;
        if size < 0 || size as usize > self.max_frame {
            return Err(FrameError::TooLarge(size, self.max_frame));
        }
        let mut buf = BytesMut::zeroed(size as usize);
        self.stream.read_exact(&mut buf).await?;
        Ok(buf.freeze())
    }

    /// Writes one response frame (`body` without the size prefix) and flushes.
    pub async fn write_frame(&mut self, body: &[u8]) -> Result<(), FrameError> {
        self.stream
            .write_all(&(body.len() as i32).to_be_bytes())
            .await?;
        self.stream.write_all(body).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Writes one response frame made of `parts` and flushes.
    pub async fn write_parts(&mut self, parts: &[Part]) -> Result<(), FrameError> {
        let size: usize = parts.iter().map(Part::len).sum();
        let size = i32::try_from(size).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("response of {size} bytes does not fit a frame"),
            )
        })?;
        self.stream.write_all(&size.to_be_bytes()).await?;
        for part in parts {
            match part {
                Part::Bytes(b) => self.stream.write_all(b).await?,
                Part::File(region) => {
                    // Everything before the region must be on the wire first.
                    self.stream.flush().await?;
                    send_file(self.stream.get_ref(), region).await?;
                }
            }
        }
        self.stream.flush().await?;
        Ok(())
    }
}

/// Sends a file region with `sendfile(2)`, waiting whenever the socket buffer is full.
async fn send_file(stream: &TcpStream, region: &FileRegion) -> std::io::Result<()> {
    let mut offset = libc::off_t::try_from(region.position)
        .map_err(|_| std::io::Error::other("file position out of range"))?;
    let end = offset + region.len as libc::off_t;
    while offset < end {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            // SAFETY: both descriptors are open for the duration of the call (the socket is
            // borrowed, the file held by the region's Arc) and `offset` is a valid, exclusive
            // pointer; sendfile reads and advances it.
            let n = unsafe {
                libc::sendfile(
                    stream.as_raw_fd(),
                    region.file.as_raw_fd(),
                    &mut offset,
                    (end - offset) as usize,
                )
            };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match sent {
            // The file ended before the region did: the frame cannot be completed.
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "segment file is shorter than the fetched region",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
