//! Read and write buffers lent to connections while they have bytes to handle, so an idle
//! keep-alive connection holds none: a thousand idle clients cost their sockets and a few
//! small fields each, not 32 KiB of buffers.

/// Bytes asked of the kernel per `read`; a read buffer's size, and a write buffer's capacity.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Buffers kept for reuse beyond those in use; the rest of a burst's buffers are freed. Busy
/// keep-alive connections give their buffers back between requests and take them again, so the
/// pool must hold about as many as there are busy connections, or each request pays for a
/// zeroed 16 KiB allocation: 256 covers the load of 100-connection benchmarks with room to spare.
const KEPT: usize = 256;

/// Write buffers grown by large responses are kept as well, each up to `MAX_KEPT_WRITE` and all
/// together up to `WRITE_BUDGET` bytes (so the pool holds at most 8 MiB with its read buffers).
/// Freed, a 64 KiB buffer goes back to the system (glibc trims the heap top), and the next large
/// response faults its pages in again: a fifth of a worker's time in the 64 KiB benchmark.
const WRITE_BUDGET: usize = KEPT * CHUNK;
const MAX_KEPT_WRITE: usize = 256 * 1024;

#[derive(Default)]
pub(crate) struct BufferPool {
    read: Vec<Vec<u8>>,
    write: Vec<Vec<u8>>,
    /// The capacity of the buffers in `write`.
    write_bytes: usize,
}

impl BufferPool {
    /// A read buffer: `CHUNK` initialised bytes, so reads go straight into it.
    pub(crate) fn read_buffer(&mut self) -> Vec<u8> {
        self.read.pop().unwrap_or_else(|| vec![0; CHUNK])
    }

    /// An empty write buffer with room for at least `CHUNK` bytes.
    pub(crate) fn write_buffer(&mut self) -> Vec<u8> {
        match self.write.pop() {
            Some(buf) => {
                self.write_bytes -= buf.capacity();
                buf
            }
            None => Vec::with_capacity(CHUNK),
        }
    }

    /// Takes a read buffer back; one grown for a large head is freed rather than kept.
    pub(crate) fn recycle_read(&mut self, buf: Vec<u8>) {
        if buf.len() == CHUNK && self.read.len() < KEPT {
            self.read.push(buf);
        }
    }

    /// Takes a write buffer back, unless it is beyond what the pool keeps.
    pub(crate) fn recycle_write(&mut self, mut buf: Vec<u8>) {
        let capacity = buf.capacity();
        if (CHUNK..=MAX_KEPT_WRITE).contains(&capacity)
            && self.write.len() < KEPT
            && self.write_bytes + capacity <= WRITE_BUDGET
        {
            buf.clear();
            self.write_bytes += capacity;
            self.write.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_for_reuse_unless_grown_or_beyond_the_kept_number() {
        let mut pool = BufferPool::default();
        let read = pool.read_buffer();
        let address = read.as_ptr();
        pool.recycle_read(read);
        let again = pool.read_buffer();
        assert_eq!(again.as_ptr(), address);
        pool.recycle_read(again);
        pool.read.clear();

        let mut grown = pool.read_buffer();
        grown.resize(2 * CHUNK, 0);
        pool.recycle_read(grown);
        assert!(pool.read.is_empty());

        let mut write = pool.write_buffer();
        write.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        pool.recycle_write(write);
        let again = pool.write_buffer();
        assert!(again.is_empty() && again.capacity() == CHUNK);

        for _ in 0..KEPT + 10 {
            pool.recycle_write(Vec::with_capacity(CHUNK));
        }
        assert_eq!(pool.write.len(), KEPT);
    }

    #[test]
    fn grown_write_buffers_are_kept_within_the_byte_budget() {
        let mut pool = BufferPool::default();
        let mut grown = pool.write_buffer();
        grown.extend_from_slice(&[b'x'; 64 * 1024 + 200]);
        let (address, capacity) = (grown.as_ptr(), grown.capacity());
        pool.recycle_write(grown);
        let again = pool.write_buffer();
        assert_eq!(
            (again.as_ptr(), again.capacity(), again.len()),
            (address, capacity, 0)
        );
        assert_eq!(pool.write_bytes, 0);

        pool.recycle_write(Vec::with_capacity(MAX_KEPT_WRITE + 1));
        assert!(pool.write.is_empty());

        for _ in 0..WRITE_BUDGET / (64 * 1024) + 10 {
            pool.recycle_write(Vec::with_capacity(64 * 1024));
        }
        assert_eq!(pool.write.len(), WRITE_BUDGET / (64 * 1024));
        assert_eq!(pool.write_bytes, WRITE_BUDGET);
        pool.recycle_write(Vec::with_capacity(CHUNK));
        assert_eq!(pool.write.len(), WRITE_BUDGET / (64 * 1024));
    }
}
