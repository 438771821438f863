/* Preloaded into Firefox ESR (LD_PRELOAD) by conformance/browser/driver.py for the tests where
 * Firefox sends H.264 without OpenH264, through its libavcodec/libx264 platform encoder.
 *
 * Firefox opens libx264 with x264's default tune, whose ~40 frames of lookahead its WebRTC
 * glue (WebrtcMediaDataEncoder) cannot wait for: it forgets each input before the encoder gives
 * the frame back, and sends nothing (docs/firefox-h264.md). libavcodec asks x264 for its preset
 * through x264_param_default_preset(param, preset, tune) with no tune; this stand-in passes the
 * call on to libx264 with tune "zerolatency" (no lookahead, no frame threads), as a real-time
 * encoder such as OpenH264 behaves. Anything else is untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef int (*default_preset_fn)(void *, const char *, const char *);

int x264_param_default_preset(void *param, const char *preset, const char *tune) {
    /* libx264 is already loaded (libavcodec needs it) but in libavcodec's own scope, which
     * RTLD_NEXT does not search: look it up by name without loading anything. The soname is
     * Debian 12's (libx264-164, which libavcodec59 depends on). */
    void *x264 = dlopen("libx264.so.164", RTLD_NOW | RTLD_NOLOAD);
    default_preset_fn real =
        x264 != NULL ? (default_preset_fn)dlsym(x264, "x264_param_default_preset") : NULL;
    if (real == NULL) {
        return -1; /* libavcodec then fails to open the encoder, and says so */
    }
    return real(param, preset, tune != NULL ? tune : "zerolatency");
}
