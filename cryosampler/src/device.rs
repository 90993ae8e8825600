//! The one place that knows about burn backends.
//!
//! Notebook code never names a backend: tensors live on [`B`] (`burn::Dispatch`) and training uses
//! [`AB`] (burn's autodiff decorator over it). The device is picked once per process by [`device`]:
//! CUDA when the crate was built with the `cuda` feature and a GPU answers, the pure-Rust `flex`
//! CPU backend otherwise. `CRYOSAMPLER_DEVICE=cpu|cuda` overrides the choice.
//!
//! Model structs keep a `<B: Backend>` parameter only because burn 0.21 needs it; burn 0.22 drops
//! the parameter, and moving there is mostly deleting `<B>`.

use std::sync::OnceLock;

/// Tensor backend for inference and data (`burn::Dispatch`).
pub type B = burn::Dispatch;
/// Autodiff backend used for training.
pub type AB = burn::backend::Autodiff<burn::Dispatch>;
/// The runtime device type.
pub type Device = burn::DispatchDevice;

static DEVICE: OnceLock<(Device, String)> = OnceLock::new();

#[cfg(feature = "cuda")]
fn libcuda_present() -> bool {
    let mut dirs: Vec<String> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/usr/local/nvidia/lib64",
            "/usr/local/cuda/lib64",
            "/usr/lib/wsl/lib",
        ]
        .map(String::from),
    );
    dirs.iter().any(|d| {
        std::path::Path::new(d).join("libcuda.so.1").exists() || std::path::Path::new(d).join("libcuda.so").exists()
    })
}

#[cfg(feature = "cuda")]
fn try_cuda() -> Option<Device> {
    if !libcuda_present() {
        return None;
    }
    // cudarc panics when the driver cannot be loaded: probe inside catch_unwind, quietly.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ok = std::panic::catch_unwind(|| {
        let d = Device::Cuda(Default::default());
        let t = burn::tensor::Tensor::<B, 1>::ones([4], &d);
        t.sum().into_scalar() == 4.0
    });
    std::panic::set_hook(hook);
    matches!(ok, Ok(true)).then(|| Device::Cuda(Default::default()))
}

fn pick() -> (Device, String) {
    let wanted = std::env::var("CRYOSAMPLER_DEVICE").unwrap_or_default().to_ascii_lowercase();
    #[cfg(feature = "cuda")]
    if wanted != "cpu" {
        if let Some(d) = try_cuda() {
            return (d, "cuda:0 (burn-cuda)".into());
        }
    }
    let note = if wanted == "cuda" { " (CUDA requested but not available)" } else { "" };
    #[cfg(feature = "flex")]
    {
        (Device::Flex(Default::default()), format!("cpu (burn-flex, {} threads){note}", rayon::current_num_threads()))
    }
    #[cfg(not(feature = "flex"))]
    {
        (Device::default(), format!("default device{note}"))
    }
}

/// The device every stage uses (picked on first call).
pub fn device() -> Device {
    DEVICE.get_or_init(pick).0.clone()
}

/// A human-readable name of [`device`], e.g. `cpu (burn-flex, 2 threads)`.
pub fn device_name() -> String {
    DEVICE.get_or_init(pick).1.clone()
}

static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held for the whole of a training run: burn's random generator is global to the process, so two
/// trainings at once (e.g. parallel tests, or threads in an application) would interleave their
/// draws and a fixed seed would no longer repeat. Runs therefore take turns; each one is CPU-bound
/// on all cores anyway.
pub(crate) fn training_lock() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Seed burn's random generator on the current device (weights init, noise).
pub fn seed(seed: u64) {
    use burn::tensor::backend::Backend;
    B::seed(&device(), seed);
}
