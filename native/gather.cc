// kring native core: copies of frames out of a ring (krGather).
//
// PacketSocket.frames() hands out frames that are safe to keep: their bytes copied out of the ring
// into stores of about 64 KiB shared by consecutive frames. Made in JavaScript, each frame cost a
// typed-array creation and a TypedArray.prototype.set, and every fresh store page-faulted its way
// in (glibc hands the freed top of its heap back to the kernel, so the next store faults again):
// a profile of frames() at 64 B put a third of its time there (docs/benchmarks.md). krGather copies
// a run of frames in one call into a chunk from a pool of recycled ones, which the store's
// finalizer (its ArrayBuffer collected) returns to the pool: in the steady state a store costs no
// page fault and no malloc. The copy knows no header: the caller passes where each frame's bytes
// are and how many there are (the walk found them).
//
// Ordering: the caller holds the frames' lease (their batch is not released), so the kernel does
// not write these bytes while they are copied; they were published by the status word's release
// that the caller's acquire paired with (src/ring/ring.ts).
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "kring.h"

namespace kring {

namespace {

// The pool's chunk size: src/native.ts GATHER_CHUNK_BYTES, the most one store of several frames
// holds (a single frame larger than this gets a store of its own, malloc'd and freed).
constexpr size_t kChunkBytes = 65536;
// Chunks come in slabs of 1 MiB mapped with MAP_POPULATE: the kernel fills the whole slab in one
// call, where touching fresh pages one by one takes a fault each (10-14 us per page on this
// project's VM against 0.5 us per page populated, docs/benchmarks.md).
constexpr size_t kSlabChunks = 16;
// What the pool gives back. Chunks return when V8 collects their stores, in bursts after each
// collection, so the free count swings by the whole working set (tens of megabytes at 1500-byte
// frames near line rate) many times a second; a fixed cap on free chunks unmapped slabs only to map
// them again a moment later, every page faulting again (frames() at 1500 B went from 0.5 to 5.6 us
// per frame). So the pool keeps what was used: once per kDecayNs it unmaps wholly free slabs worth
// the chunks that stayed free throughout that interval (its low-water mark), above kKeepFree.
constexpr size_t kKeepFree = 256;  // 16 MiB never given back
constexpr int64_t kDecayNs = 1000000000;

struct Slab {
  uint8_t* base;
  size_t free;  // its chunks in the pool
};

struct Chunk {
  uint8_t* data;
  Slab* slab;
};

// Process-wide (worker threads share it; finalizers run on their own thread), never destroyed:
// finalizers may run at exit.
struct Pool {
  std::mutex lock;
  std::vector<Chunk> free;   // LIFO: the chunk used last is the one most likely still in cache
  std::vector<Slab*> slabs;  // mapped
  size_t lowWater = 0;       // the fewest free chunks since the last trim
  int64_t lastTrim = 0;
};

Pool& ThePool() {
  static Pool* p = new Pool();
  return *p;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A pooled chunk, or {nullptr, nullptr} when no slab can be mapped.
Chunk TakeChunk() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.lock);
  if (pool.free.empty()) {
    void* base = mmap(nullptr, kChunkBytes * kSlabChunks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (base == MAP_FAILED) return {nullptr, nullptr};
    Slab* slab = new Slab{static_cast<uint8_t*>(base), kSlabChunks};
    pool.slabs.push_back(slab);
    for (size_t i = kSlabChunks; i-- > 0;) pool.free.push_back({slab->base + i * kChunkBytes, slab});
  }
  Chunk c = pool.free.back();
  pool.free.pop_back();
  c.slab->free--;
  if (pool.free.size() < pool.lowWater) pool.lowWater = pool.free.size();
  return c;
}

// Unmaps wholly free slabs worth the chunks no one needed since the last trim (see kDecayNs).
void Trim(Pool& pool, int64_t now) {
  size_t spare = pool.lowWater > kKeepFree ? pool.lowWater - kKeepFree : 0;
  for (size_t i = 0; i < pool.slabs.size() && spare >= kSlabChunks;) {
    Slab* slab = pool.slabs[i];
    if (slab->free != kSlabChunks) {
      i++;
      continue;
    }
    pool.free.erase(std::remove_if(pool.free.begin(), pool.free.end(), [slab](const Chunk& f) { return f.slab == slab; }), pool.free.end());
    munmap(slab->base, kChunkBytes * kSlabChunks);
    pool.slabs[i] = pool.slabs.back();
    pool.slabs.pop_back();
    delete slab;
    spare -= kSlabChunks;
  }
  pool.lastTrim = now;
  pool.lowWater = pool.free.size();
}

void GiveChunk(Chunk c) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.lock);
  pool.free.push_back(c);
  c.slab->free++;
  const int64_t now = NowNs();
  if (now - pool.lastTrim >= kDecayNs) Trim(pool, now);
}

struct Store {
  Chunk chunk;      // slab nullptr: malloc'd (larger than a chunk)
  size_t capacity;  // what napi_adjust_external_memory was told
  bool creating;    // inside napi_create_external_arraybuffer (see Gather)
  bool finalized;   // the finalizer ran during creation
};

void Recycle(Store* s) {
  if (s->chunk.slab != nullptr) GiveChunk(s->chunk);
  else std::free(s->chunk.data);
  delete s;
}

// The store's ArrayBuffer was collected (or its environment is going away): the chunk goes back.
void FinalizeStore(napi_env env, void* data, void* hint) {
  Store* s = static_cast<Store*>(hint);
  int64_t ignored;
  napi_adjust_external_memory(env, -static_cast<int64_t>(s->capacity), &ignored);
  if (s->creating) {
    s->finalized = true;  // Gather, still in the call that ran this, recycles
    return;
  }
  Recycle(s);
}

bool TypedArrayOf(Napi::Value v, napi_typedarray_type type, void** data, size_t* length) {
  if (!v.IsTypedArray()) return false;
  napi_typedarray_type t;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(v.Env(), v, &t, length, data, &ab, &offset) != napi_ok) return false;
  return t == type;
}

}  // namespace

// krGather(source: ArrayBuffer, starts: Float64Array, lengths: Uint32Array) -> ArrayBuffer: the
// bytes source[starts[i] .. starts[i] + lengths[i]] for every i, concatenated, in a new store. A
// detached source (the ring was unmapped) is a TypeError, a span outside it or arrays of different
// lengths a RangeError. A store of at most kChunkBytes is a chunk from the pool.
static Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArrayBuffer()) return ThrowType(env, "krGather(source: ArrayBuffer, starts: Float64Array, lengths: Uint32Array)"), env.Undefined();
  void *startsData, *lensData;
  size_t n, nLens;
  if (!TypedArrayOf(info[1], napi_float64_array, &startsData, &n) || !TypedArrayOf(info[2], napi_uint32_array, &lensData, &nLens))
    return ThrowType(env, "krGather: starts must be a Float64Array and lengths a Uint32Array"), env.Undefined();
  if (n != nLens) return ThrowRange(env, "krGather: starts and lengths differ in length"), env.Undefined();
  Napi::ArrayBuffer source = info[0].As<Napi::ArrayBuffer>();
  if (source.IsDetached()) return ThrowType(env, "krGather: the source was detached (the ring is closed)"), env.Undefined();
  const uint8_t* base = static_cast<const uint8_t*>(source.Data());
  const double size = static_cast<double>(source.ByteLength());
  const double* starts = static_cast<const double*>(startsData);
  const uint32_t* lens = static_cast<const uint32_t*>(lensData);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    // !(x >= 0) also refuses NaN; an integral double below 2^53 converts exactly.
    if (!(starts[i] >= 0) || starts[i] + lens[i] > size || starts[i] != static_cast<double>(static_cast<uint64_t>(starts[i])))
      return ThrowRange(env, "krGather: a span lies outside the source"), env.Undefined();
    total += lens[i];
  }
  Chunk chunk = total <= kChunkBytes ? TakeChunk() : Chunk{static_cast<uint8_t*>(std::malloc(total)), nullptr};
  if (chunk.data == nullptr) return ThrowRingError(env, ENOMEM, total <= kChunkBytes ? "mmap" : "malloc", "krGather"), env.Undefined();
  uint8_t* out = chunk.data;
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    std::memcpy(out + pos, base + static_cast<uint64_t>(starts[i]), lens[i]);
    pos += lens[i];
  }
  const size_t capacity = chunk.slab != nullptr ? kChunkBytes : total;
  Store* s = new Store{chunk, capacity, true, false};
  // Told before the buffer exists, so that a finalizer run during its creation balances it.
  int64_t ignored;
  napi_adjust_external_memory(env, static_cast<int64_t>(capacity), &ignored);
  napi_value ab = nullptr;
  napi_status st = napi_create_external_arraybuffer(env, out, total, FinalizeStore, s, &ab);
  s->creating = false;
  if (st != napi_ok) {
    // Refused: nothing refers to the chunk (the finalizer, if it ran, left it to us).
    if (!s->finalized) napi_adjust_external_memory(env, -static_cast<int64_t>(capacity), &ignored);
    Recycle(s);
    if (!env.IsExceptionPending()) ThrowRange(env, "krGather: the runtime refused the store's ArrayBuffer");
    return env.Undefined();
  }
  return Napi::Value(env, ab);
}

// krGatherStats() -> { slabs, free }: the pool's mapped slabs and free chunks (for tests: stores
// come back once collected, and the pool stays bounded).
static Napi::Value GatherStats(const Napi::CallbackInfo& info) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.lock);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("slabs", Napi::Number::New(info.Env(), static_cast<double>(pool.slabs.size())));
  o.Set("free", Napi::Number::New(info.Env(), static_cast<double>(pool.free.size())));
  return o;
}
void InitGather(Napi::Env env, Napi::Object exports) {
  exports.Set("krGatherStats", Napi::Function::New(env, GatherStats, "krGatherStats")); exports.Set("krGather", Napi::Function::New(env, Gather, "krGather")); }

}  // namespace kring
