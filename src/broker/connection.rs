//! Kafka's framing over TCP: a 4-byte big-endian size, then that many bytes of request or
//! response.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

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
}
