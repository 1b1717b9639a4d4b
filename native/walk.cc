// kring native core: the block walk (WalkPlan).
//
// A TPACKET_V3 block chains its frames by a next-offset word in each header. Walking that chain is
// the capture path's per-frame cost, and in JavaScript it cost about twice what the same loop costs
// here (bounds checks and float stores per field, measured in docs/benchmarks.md). The walk stays
// header-agnostic: the layout module (src/layouts/tpacket-v3.ts) describes, once, where the
// next-offset word is, which two 32-bit words and which 16-bit data offset to read from each
// header, the header's length and the alignment of a frame; this file knows no tpacket field.
//
// Ordering: the caller reads the block's status word (acquire, in src/ring/ring.ts) before it
// calls walk(); these are plain loads of memory the kernel finished writing before its release
// of that word (prb_close_block's smp_wmb before setting TP_STATUS_USER).
#include <cstring>

#include "kring.h"

namespace kring {

namespace {

// The four per-frame arrays of a walk, laid out in one ArrayBuffer of 24 bytes per frame (so a
// call passes one buffer, not four arrays): f64 header offsets, f64 data offsets, u32 first
// words, u32 second words, each `max` long, in that order. src/packet/reader.ts makes the views.
constexpr size_t kBytesPerFrame = 24;

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

// new WalkPlan({ buffer, next, word0, word1, half, hdrLen, align }): the mapping and the header
// description. walk(first, end, n, scratch) walks from the frame at byte `first` of the mapping
// for at most `n` frames, never past byte `end` (the block's end): it stops after the frame whose
// next-offset is 0, misaligned, or leads to a header that would end past `end`. For each frame k
// it writes its offset, offset + the u16 at `half`, the u32 at `word0`, the u32 at `word1`.
// Returns the frames walked (0 when the first frame itself does not fit before `end` or is
// misaligned). A detached buffer (the ring was unmapped) is a TypeError; `end` outside the
// mapping, a negative `first` or an `n` beyond the scratch a RangeError.
class WalkPlan : public Napi::ObjectWrap<WalkPlan> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "WalkPlan", {}); }

  explicit WalkPlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WalkPlan>(info) {
    Napi::Env env = info.Env();
    ArgObject args(info, "WalkPlan");
    Napi::Value buffer = args.Raw("buffer");
    int64_t next = args.Int("next"), word0 = args.Int("word0"), word1 = args.Int("word1"), half = args.Int("half");
    int64_t hdrLen = args.Int("hdrLen"), align = args.Int("align");
    if (!args.ok()) return;
    if (!buffer.IsArrayBuffer()) {
      ThrowType(env, "WalkPlan: buffer must be an ArrayBuffer");
      return;
    }
    // Every field must lie inside the header the walk checks is inside the block.
    if (hdrLen < 4 || hdrLen > 4096 || next < 0 || next + 4 > hdrLen || word0 < 0 || word0 + 4 > hdrLen || word1 < 0 ||
        word1 + 4 > hdrLen || half < 0 || half + 2 > hdrLen || align < 1 || align > 4096 || (align & (align - 1)) != 0) {
      ThrowRange(env, "WalkPlan: a field lies outside the header, or the alignment is not a power of two");
      return;
    }
    next_ = static_cast<size_t>(next);
    word0_ = static_cast<size_t>(word0);
    word1_ = static_cast<size_t>(word1);
    half_ = static_cast<size_t>(half);
    hdrLen_ = static_cast<uint64_t>(hdrLen);
    alignMask_ = static_cast<uint64_t>(align - 1);
    buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
    BindMethod<WalkPlan, &WalkPlan::Walk>(env, info.This(), "walk", this);
  }

 private:
  Napi::Value Walk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t first, end, n;
    if (!Int(info, 0, &first) || !Int(info, 1, &end) || !Int(info, 2, &n)) return env.Undefined();
    if (info.Length() < 4 || !info[3].IsArrayBuffer()) return ThrowType(env, "WalkPlan.walk: scratch must be an ArrayBuffer"), env.Undefined();
    Napi::ArrayBuffer scratch = info[3].As<Napi::ArrayBuffer>();
    bool detached = true;
    Napi::ArrayBuffer ab = buffer_.Value().As<Napi::ArrayBuffer>();
    if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached)
      return ThrowType(env, "WalkPlan.walk: the buffer was detached (the ring is closed)"), env.Undefined();
    const uint64_t size = ab.ByteLength();
    const size_t max = scratch.ByteLength() / kBytesPerFrame;
    if (first < 0 || end < 0 || static_cast<uint64_t>(end) > size || n < 0 || static_cast<uint64_t>(n) > max)
      return ThrowRange(env, "WalkPlan.walk: first or end outside the mapping, or n beyond the scratch"), env.Undefined();
    const uint8_t* base = static_cast<const uint8_t*>(ab.Data());
    uint8_t* out = static_cast<uint8_t*>(scratch.Data());
    double* offsets = reinterpret_cast<double*>(out);
    double* data = offsets + max;
    uint32_t* words0 = reinterpret_cast<uint32_t*>(data + max);
    uint32_t* words1 = words0 + max;
    const uint64_t stop = static_cast<uint64_t>(end);
    uint64_t at = static_cast<uint64_t>(first);
    uint64_t k = 0;
    const uint64_t count = static_cast<uint64_t>(n);
    if (count == 0 || at + hdrLen_ > stop || (at & alignMask_) != 0) return Napi::Number::New(env, 0);
    for (;;) {
      const uint8_t* h = base + at;
      offsets[k] = static_cast<double>(at);
      words0[k] = Load32(h + word0_);
      words1[k] = Load32(h + word1_);
      data[k] = static_cast<double>(at + Load16(h + half_));
      if (++k == count) break;
      const uint64_t step = Load32(h + next_);
      if (step == 0 || (step & alignMask_) != 0 || at + step + hdrLen_ > stop) break;
      at += step;
    }
    return Napi::Number::New(env, static_cast<double>(k));
  }

  size_t next_ = 0, word0_ = 0, word1_ = 0, half_ = 0;
  uint64_t hdrLen_ = 0, alignMask_ = 0;
  Napi::ObjectReference buffer_;
};

void InitWalk(Napi::Env env, Napi::Object exports) { exports.Set("WalkPlan", WalkPlan::Define(env)); }

}  // namespace kring
