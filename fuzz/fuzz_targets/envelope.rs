#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tradehall::fuzz::envelope(data);
});
