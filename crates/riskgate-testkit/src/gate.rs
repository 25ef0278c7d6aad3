//! A scorer the test holds inside `score`, to make "a call is in flight" a fact without sleeps.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
    mpsc,
};

use riskgate_core::{
    attributes::Attributes,
    model::{LogisticModel, ModelScore, Scorer},
};

/// A scorer that, once armed, stops inside `score` until the test releases it: makes "a call is in
/// flight" a fact the test controls, without sleeps.
pub struct GatedScorer {
    inner: LogisticModel,
    armed: AtomicBool,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

/// The test's side of a [`GatedScorer`].
pub struct Gate {
    entered: Mutex<mpsc::Receiver<()>>,
    release: mpsc::Sender<()>,
}

impl GatedScorer {
    pub fn new() -> (Arc<Self>, Arc<Gate>) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        (
            Arc::new(Self {
                inner: LogisticModel::default(),
                armed: AtomicBool::new(false),
                entered: Mutex::new(entered_tx),
                release: Mutex::new(release_rx),
            }),
            Arc::new(Gate {
                entered: Mutex::new(entered_rx),
                release: release_tx,
            }),
        )
    }

    /// From now on every score waits for a release.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl Scorer for GatedScorer {
    fn version(&self) -> &str {
        "gated-test"
    }

    fn score(&self, attrs: &Attributes<'_>) -> ModelScore {
        if self.armed.load(Ordering::SeqCst) {
            self.entered.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        self.inner.score(attrs)
    }
}

impl Gate {
    /// Waits until a call is inside the scorer.
    pub async fn entered(self: &Arc<Self>) {
        let gate = self.clone();
        tokio::task::spawn_blocking(move || gate.entered.lock().unwrap().recv().unwrap())
            .await
            .unwrap();
    }

    /// Lets one waiting call finish.
    pub fn release(&self) {
        self.release.send(()).unwrap();
    }
}
