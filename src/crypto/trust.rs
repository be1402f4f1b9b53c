//! The recognised CAs and CRLs as configured files, reloadable while the server runs, so a
//! fresh CRL takes effect without a restart (CRLs are reissued daily; an expired one makes
//! every certificate of its CA fail with `certificate_revocation_unknown`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use super::cert::{CertError, TrustStore};

/// The trust store in force and the files it was read from.
#[derive(Debug)]
pub struct ReloadableTrust {
    ca_files: Vec<PathBuf>,
    crl_files: Vec<PathBuf>,
    current: RwLock<TrustStore>,
    /// How many times the files were read into a new trust store.
    generation: AtomicU64,
}

impl ReloadableTrust {
    /// Reads the files once; fails if they do not make a valid trust store.
    pub fn load(ca_files: Vec<PathBuf>, crl_files: Vec<PathBuf>) -> Result<Self, CertError> {
        let store = TrustStore::from_files(&ca_files, &crl_files)?;
        Ok(Self {
            ca_files,
            crl_files,
            current: RwLock::new(store),
            generation: AtomicU64::new(0),
        })
    }

    /// A fixed trust store that is never reloaded (tests, embedding).
    pub fn fixed(store: TrustStore) -> Self {
        Self {
            ca_files: Vec::new(),
            crl_files: Vec::new(),
            current: RwLock::new(store),
            generation: AtomicU64::new(0),
        }
    }

    /// The trust store in force (cheap: shared data).
    pub fn current(&self) -> TrustStore {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Which load of the files is in force: it changes with every reload, so what was
    /// decided under an older one is decided again.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Re-reads the files. On error the store in force stays, so a half-written CRL
    /// file never locks everyone out.
    pub fn reload(&self) -> Result<(), CertError> {
        if self.ca_files.is_empty() && self.crl_files.is_empty() {
            return Ok(());
        }
        let fresh = TrustStore::from_files(&self.ca_files, &self.crl_files)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}
