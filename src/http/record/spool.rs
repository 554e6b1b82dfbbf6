//! A body kept for a capture: in memory up to [`IN_MEMORY`] bytes, past that in a temporary
//! file in the recording's folder (hidden and ending in `.tmp`, so a scenario scan never
//! loads it), which becomes the recording's `file` body by a rename rather than a copy.
//!
//! Memory per capture stays bounded whatever the body's size. Writing is blocking I/O once
//! the body spilled to disk: the recording's tee calls [`Spool::write`] on the blocking pool
//! then, never on a worker's runtime.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Most bytes a body keeps in memory before it spills to a temporary file.
pub const IN_MEMORY: usize = 1024 * 1024;

/// A body being kept.
pub struct Spool {
    dir: PathBuf,
    memory: Vec<u8>,
    file: Option<NamedTempFile>,
    len: u64,
}

/// A body kept whole: in memory, or in a temporary file (removed when dropped unless
/// persisted).
pub enum Spooled {
    /// Short enough to keep in memory.
    Memory(Vec<u8>),
    /// Written to a temporary file, `len` bytes.
    File { file: NamedTempFile, len: u64 },
}

impl Spool {
    /// An empty body whose temporary file, if it needs one, goes into `dir`.
    pub fn new(dir: &Path) -> Self {
        Spool {
            dir: dir.to_path_buf(),
            memory: Vec::new(),
            file: None,
            len: 0,
        }
    }

    /// Bytes kept so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether `more` bytes fit in memory (so [`Spool::write`] does no I/O).
    pub fn fits_in_memory(&self, more: usize) -> bool {
        self.file.is_none() && self.memory.len() + more <= IN_MEMORY
    }

    /// The body as kept, ready to read.
    pub fn finish(mut self) -> std::io::Result<Spooled> {
        match self.file.take() {
            None => Ok(Spooled::Memory(self.memory)),
            Some(mut file) => {
                file.flush()?;
                Ok(Spooled::File {
                    file,
                    len: self.len,
                })
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.fits_in_memory(bytes.len()) {
            self.memory.extend_from_slice(bytes);
            self.len += bytes.len() as u64;
            return Ok(bytes.len());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let mut file = tempfile::Builder::new()
                    .prefix(".understudy-capture-")
                    .suffix(".tmp")
                    .tempfile_in(&self.dir)?;
                file.write_all(&self.memory)?;
                self.memory = Vec::new();
                self.file.insert(file)
            }
        };
        file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Spooled {
    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Spooled::Memory(bytes) => bytes.len() as u64,
            Spooled::File { len, .. } => *len,
        }
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes when they are in memory.
    pub fn in_memory(&self) -> Option<&[u8]> {
        match self {
            Spooled::Memory(bytes) => Some(bytes),
            Spooled::File { .. } => None,
        }
    }

    /// A reader of the whole body, from its first byte.
    pub fn reader(&self) -> std::io::Result<Box<dyn Read + '_>> {
        match self {
            Spooled::Memory(bytes) => Ok(Box::new(&bytes[..])),
            Spooled::File { file, .. } => Ok(Box::new(std::io::BufReader::new(file.reopen()?))),
        }
    }

    /// Puts the body at `path`: a rename for a spooled file (same folder, same file system),
    /// a write for bytes in memory.
    pub fn persist(self, path: &Path) -> std::io::Result<()> {
        match self {
            Spooled::Memory(bytes) => std::fs::write(path, bytes),
            Spooled::File { file, .. } => file.persist(path).map(|_| ()).map_err(|e| e.error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_past_the_threshold_spills_to_a_file_and_reads_back_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spool = Spool::new(dir.path());
        let chunk = vec![7u8; 300 * 1024];
        for _ in 0..5 {
            spool.write_all(&chunk).expect("write");
        }
        let kept = spool.finish().expect("finish");
        assert!(kept.in_memory().is_none(), "spilled");
        assert_eq!(kept.len(), 5 * 300 * 1024);
        let mut back = Vec::new();
        kept.reader()
            .expect("reader")
            .read_to_end(&mut back)
            .expect("read");
        assert_eq!(back.len(), 5 * 300 * 1024);
        assert!(back.iter().all(|b| *b == 7));
        let target = dir.path().join("body.bin");
        kept.persist(&target).expect("persist");
        assert_eq!(
            std::fs::metadata(&target).expect("meta").len(),
            5 * 300 * 1024
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(left.len(), 1, "the temporary file became the body");
    }
}
