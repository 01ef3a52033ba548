# The bridge's native media path (salon_media.cc): built by `npm install` (bridge/native/build.mjs)
# with node-gyp against Node's own headers. OpenSSL comes from the Node binary itself, which exports
# its symbols to addons: nothing is linked. NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a call into the
# addon while a worker thread is being terminated (JavaScript can no longer run, so nothing can be
# thrown) returns an empty value, where node-addon-api would otherwise abort the whole process.
{
  "targets": [
    {
      "target_name": "salon_media",
      "sources": ["salon_media.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "OPENSSL_API_COMPAT=0x10100000L"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-Wno-deprecated-declarations", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
