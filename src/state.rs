//! Per-scenario runtime state: the current state name and each route's sequence position.
//!
//! A scenario's state lives beside its compiled routes ([`LiveScenario`]) and shares their lifetime: when the
//! scenario's file changes (or it is replaced through the admin API) the new version starts
//! from its initial state, while scenarios that did not change keep theirs across snapshot
//! swaps. State reads and writes are short critical sections; nothing sleeps under the lock.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::scenario::compiled::{
    AfterLast, Answers, CompiledResponse, CompiledRoute, CompiledScenario,
};

/// A compiled scenario and its runtime state: what a snapshot serves. The compiled part never
/// changes; the state moves as requests are answered. A new version of the scenario (its file
/// changed, or it was put again) is a new `LiveScenario` starting from its initial state.
#[derive(Debug)]
pub struct LiveScenario {
    compiled: Arc<CompiledScenario>,
    /// The current state and sequence positions.
    pub state: ScenarioState,
    /// Per route, the named state it uses instead of `state` (WireMock's `scenarioName`).
    scoped: Box<[Option<Arc<ScenarioState>>]>,
    /// What identifies this version of the scenario across processes (its name and
    /// document hashed), computed on first use: the shared state store keys on it.
    version: std::sync::OnceLock<Box<str>>,
}

impl LiveScenario {
    /// `compiled` in its initial state, every sequence at its start; named states are its
    /// own (see [`LiveScenario::sharing`]).
    pub fn new(compiled: impl Into<Arc<CompiledScenario>>) -> Self {
        Self::sharing(compiled, &NamedStates::default())
    }

    /// Like [`LiveScenario::new`], its routes' named states taken from `named` (shared with
    /// every scenario that names the same state, and kept across reloads).
    pub fn sharing(compiled: impl Into<Arc<CompiledScenario>>, named: &NamedStates) -> Self {
        let compiled = compiled.into();
        let state = ScenarioState::new(&compiled.initial_state, compiled.routes.len());
        let scoped = compiled
            .routes
            .iter()
            .map(|r| r.scope.as_ref().map(|name| named.get(name)))
            .collect();
        LiveScenario {
            compiled,
            state,
            scoped,
            version: std::sync::OnceLock::new(),
        }
    }

    /// The compiled scenario this is a live copy of.
    pub fn compiled(&self) -> &Arc<CompiledScenario> {
        &self.compiled
    }

    /// This version's identity: the scenario's name and document hashed (SHA-256, 16 hex
    /// digits). Two processes that loaded the same document agree on it; a changed document
    /// has another.
    pub fn version(&self) -> &str {
        self.version.get_or_init(|| {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            h.update(self.compiled.name.as_bytes());
            h.update([0]);
            h.update(self.compiled.source.as_bytes());
            let digest = h.finalize();
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_boxed_str()
        })
    }

    /// The state `route`'s `when_state` and `set_state` use: a named one, or the scenario's.
    pub fn state_of(&self, route: &CompiledRoute) -> &ScenarioState {
        match self.scoped.get(route.index) {
            Some(Some(named)) => named,
            _ => &self.state,
        }
    }
}

/// The initial state of every named state.
pub const NAMED_INITIAL: &str = "Started";

/// States shared by name across scenarios (WireMock scenarios: one state per `scenarioName`
/// across every mapping file, starting at `Started`).
#[derive(Debug, Default)]
pub struct NamedStates(Mutex<std::collections::HashMap<Arc<str>, Arc<ScenarioState>>>);

impl NamedStates {
    /// The state called `name`, created at [`NAMED_INITIAL`] on first use.
    pub fn get(&self, name: &Arc<str>) -> Arc<ScenarioState> {
        self.lock()
            .entry(name.clone())
            .or_insert_with(|| Arc::new(ScenarioState::new(NAMED_INITIAL, 0)))
            .clone()
    }

    /// Every named state, by name.
    pub fn all(&self) -> Vec<(Arc<str>, Arc<ScenarioState>)> {
        let mut all: Vec<_> = self
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Every named state back to [`NAMED_INITIAL`].
    pub fn reset(&self) {
        for state in self.lock().values() {
            state.reset();
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Arc<str>, Arc<ScenarioState>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Deref for LiveScenario {
    type Target = CompiledScenario;

    fn deref(&self) -> &CompiledScenario {
        &self.compiled
    }
}

/// The answer a route gives at sequence position `pos` (how many answers it gave before);
/// `None` past the end of a `fall_through` script.
#[inline]
pub fn answer_at(route: &CompiledRoute, pos: u64) -> Option<&CompiledResponse> {
    let (steps, ends, after_last) = match &route.answers {
        Answers::One(resp) => return Some(resp),
        Answers::Script {
            steps,
            ends,
            after_last,
        } => (steps, ends, *after_last),
    };
    let total = *ends.last()?;
    let n = match after_last {
        AfterLast::Cycle => pos % total,
        AfterLast::RepeatLast => pos.min(total - 1),
        AfterLast::FallThrough if pos >= total => return None,
        AfterLast::FallThrough => pos,
    };
    let step = ends.partition_point(|end| *end <= n);
    steps.get(step)
}

/// Mutable state of one loaded scenario.
#[derive(Debug)]
pub struct ScenarioState {
    initial: String,
    current: Mutex<String>,
    positions: Box<[AtomicU64]>,
}

impl ScenarioState {
    /// Fresh state: `initial`, every route at position 0.
    pub fn new(initial: &str, routes: usize) -> Self {
        ScenarioState {
            initial: initial.to_owned(),
            current: Mutex::new(initial.to_owned()),
            positions: (0..routes).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The state the scenario starts in.
    pub fn initial(&self) -> &str {
        &self.initial
    }

    /// The current state.
    pub fn get(&self) -> String {
        self.lock().clone()
    }

    /// Moves the scenario to `state`.
    pub fn set(&self, state: &str) {
        *self.lock() = state.to_owned();
    }

    /// Back to the initial state, every sequence at its start.
    pub fn reset(&self) {
        *self.lock() = self.initial.clone();
        for p in self.positions.iter() {
            p.store(0, Ordering::SeqCst);
        }
    }

    /// Sequence position of route `index` (how many answers it has given).
    pub fn position(&self, index: usize) -> u64 {
        self.positions
            .get(index)
            .map_or(0, |p| p.load(Ordering::SeqCst))
    }

    /// Runs `f` with the current state locked, so a check and a transition are one step.
    /// Keep `f` short: never await or sleep in it.
    pub fn with_locked<R>(&self, f: impl FnOnce(&mut String) -> R) -> R {
        f(&mut self.lock())
    }

    /// Takes the route's next answer, advancing its script atomically: under any number of
    /// concurrent requests each step is handed out exactly as often as the script says.
    /// `None` when a `fall_through` script is used up (the route no longer matches).
    pub fn next_answer<'r>(&self, route: &'r CompiledRoute) -> Option<&'r CompiledResponse> {
        let (ends, after_last) = match &route.answers {
            Answers::One(resp) => return Some(resp),
            Answers::Script {
                ends, after_last, ..
            } => (ends, *after_last),
        };
        let total = *ends.last()?;
        let counter = self.positions.get(route.index)?;
        let mut pos = counter.load(Ordering::Acquire);
        loop {
            if after_last == AfterLast::FallThrough && pos >= total {
                return None;
            }
            match counter.compare_exchange_weak(
                pos,
                pos.saturating_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => pos = now,
            }
        }
        answer_at(route, pos)
    }

    /// Whether a `fall_through` script has given all its answers (the route no longer matches).
    pub fn exhausted(&self, route: &CompiledRoute) -> bool {
        match &route.answers {
            Answers::Script {
                ends,
                after_last: AfterLast::FallThrough,
                ..
            } => self.position(route.index) >= ends.last().copied().unwrap_or(0),
            _ => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, String> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}
