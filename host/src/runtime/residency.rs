//! Only the compiled code in use stays resident, and a compile's scratch
//! memory goes back to the system.
//!
//! # After a compile
//!
//! Compiling a large component (a Python plugin: CPython inside, 35 MB of
//! machine code) allocates hundreds of megabytes of scratch memory on
//! wasmtime's compile threads; glibc keeps what is freed in its per-thread
//! arenas, and the bot's RSS stayed ≈ 350 MB after the compile. So after
//! every fresh compile [`trim_heap`] asks glibc to return free memory of
//! all its arenas to the system (`malloc_trim(0)`); the compiled code
//! itself is mapped from the cache file (below).
//!
//! # After a start
//!
//! A plugin's compiled image is mapped from its cache file (see
//! [`super::cache`]). Loading it and running `describe` and `init` touch a
//! few of its pages, and the kernel's fault-around maps their neighbours
//! too, so right after a load the whole image (code, trap tables, names,
//! metadata) counts in the bot's RSS: with 100 small plugins, 27 of the
//! bot's 50 MB. Most of it is not needed again (the metadata was
//! deserialized onto the heap, and a plugin that is never called runs none
//! of its code). So once a plugin has started, its mapped image is advised
//! `MADV_DONTNEED`: its pages leave this process's page tables, stay in the
//! page cache, and the pages a later call runs are mapped back on first use
//! (a minor fault each, no disk read) and stay.
//!
//! # Why this is safe
//!
//! On a private file mapping, `MADV_DONTNEED` drops the process's copy of
//! each page: a page nobody wrote to is re-read from the file unchanged, a
//! page someone wrote to would lose the write. wasmtime never writes a
//! loaded image: it refuses images with relocations outside `.debug_*`
//! sections (we never enable debug info) and makes the whole mapping
//! read-only when it publishes it (`CodeMemory::publish`, wasmtime 48), so
//! every page is the file's. The advice is therefore only given to images
//! mapped from a cache file (`Compiled::mapped`); a component compiled in
//! memory (no cache, or a cache that cannot be written) is left alone, since
//! there the code lives only in those pages. The cache file itself is never
//! modified in place (see [`super::cache`]).

use wasmtime::component::Component;

/// Give back the resident pages of a file-mapped component image.
///
/// Only for a component whose image is mapped from its cache file (see the
/// module docs); a no-op outside Linux.
pub(crate) fn release_image(component: &Component) {
    #[cfg(target_os = "linux")]
    {
        use rustix::mm::{Advice, madvise};
        let range = component.image_range();
        let len = range.end as usize - range.start as usize;
        if len == 0 {
            return;
        }
        // SAFETY: the range is the image wasmtime mapped from the cache file
        // and keeps mapped while `component` lives; no page of it was ever
        // written (module docs), so every page reads back from the file
        // exactly as it was.
        if let Err(e) = unsafe {
            madvise(
                range.start as *mut std::ffi::c_void,
                len,
                Advice::LinuxDontNeed,
            )
        } {
            tracing::debug!("madvise(MADV_DONTNEED) on a plugin image: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = component;
}

/// Return the heap's free memory to the system (glibc `malloc_trim`), after
/// a compile; a no-op with other C libraries.
pub(crate) fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory of the allocator's
    // arenas; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
