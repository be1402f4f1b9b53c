#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tradehall::fuzz::bank_notification(data);
});
