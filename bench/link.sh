# Sourced by the benchmarks that compile a C driver against the build: what to link, the
# three libraries by role (docs/architecture.md, "Libraries by role") as the in-tree tests
# link them, and the system libraries beneath them, with OpenBLAS's serial build found at
# run time as the project's binaries find it (CMakeLists.txt says why). Usage: bench_link BUILD_DIR
bench_link() {
    local b=$1 lib serial
    for lib in gtee_enclave_lib gtee_host_lib gtee_core; do
        [ -f "$b/lib$lib.a" ] || { echo "bench: no $b/lib$lib.a (run make first)" >&2; return 2; }
        printf '%s ' "$b/lib$lib.a"
    done
    serial=$(sed -n 's/^GTEE_OPENBLAS_SERIAL_DIR:PATH=//p' "$b/CMakeCache.txt")
    PKG_CONFIG_PATH=$serial/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
        pkg-config --libs libssl libcrypto jansson libsecp256k1 libseccomp libprotobuf-c openblas zlib \
        xmlsec1-openssl libxml-2.0
    echo "-Wl,-rpath,$serial -ldl -lm -lpthread"
}
