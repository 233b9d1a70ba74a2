#include "engine/model_converter.h"

#include <algorithm>
#include <variant>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/row_converter.h"
#include "io/gguf_writer.h"
#include "kernels/kernels.h"
#include "tessera/tessera.h"

namespace tessera::engine {
namespace {

// GGUF's general.file_type for a model whose matrices are all `type` (llama.cpp's
// LLAMA_FTYPE numbering).
std::optional<uint32_t> file_type_id(DType type) {
  switch (type) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 11;  // LLAMA_FTYPE_MOSTLY_Q3_K_S: every matrix Q3_K
    case DType::Q4_K: return 14;  // LLAMA_FTYPE_MOSTLY_Q4_K_S: every matrix Q4_K
    case DType::Q5_K: return 16;  // LLAMA_FTYPE_MOSTLY_Q5_K_S
    case DType::Q6_K: return 18;
    case DType::IQ4_NL: return 25;
    case DType::IQ4_XS: return 30;
    case DType::BF16: return 32;
    default: return std::nullopt;
  }
}

// A tied output head that the reader exposes as a view of the embedding (a
// llama2.c checkpoint's classifier): not a tensor of its own.
bool is_view_of_embedding(const io::ModelFile& in, const io::TensorInfo& t) {
  if (t.name != "output.weight") return false;
  const auto* e = in.find_tensor("token_embd.weight");
  return e && e->data == t.data && e->nbytes == t.nbytes;
}

}  // namespace

MixedModel mixed_model_of(const io::ModelFile& in) {
  MixedModel m{0, false};
  for (const auto& t : in.tensors) {
    if (auto layer = block_index(t.name)) m.n_layer = std::max(m.n_layer, *layer + 1);
    if (t.name == "output.weight" && !is_view_of_embedding(in, t)) m.has_output = true;
  }
  // Query heads per kv head, as llama.cpp's n_gqa() (1 when the keys are absent or odd).
  if (const auto arch = in.meta.get_string_opt("general.architecture")) {
    const auto heads = in.meta.get_int_opt(*arch + ".attention.head_count");
    const auto kv = in.meta.get_int_opt(*arch + ".attention.head_count_kv");
    if (heads && kv && *kv > 0 && *heads % *kv == 0) m.n_gqa = *heads / *kv;
    m.n_expert = in.meta.get_int_opt(*arch + ".expert_count").value_or(0);
  }
  return m;
}

DType converted_type(const io::TensorInfo& t, const ConvertOptions& options, const MixedModel& model) {
  if (t.ne.size() == 1 || is_expert_router(t.name)) return DType::F32;
  if (t.ne.size() > 3) return t.type;  // matrices and stacks of them (experts) are converted
  if (options.mix) return tensor_type_for(*options.mix, t.name, t.ne, model);
  if (!options.weight_type) return t.type;
  const DType want = *options.weight_type;
  return t.ne[0] % dtype_info(want).block_size == 0 ? want : DType::F16;
}

void convert_model(const io::ModelFile& in, const std::string& out_path, const ConvertOptions& options) {
  if (options.weight_type && !kernels::supports(*options.weight_type))
    fail("cannot convert to {}: Tessera has no kernels for it", dtype_name(*options.weight_type));
  io::GgufWriter w;
  for (const auto& [key, value] : in.meta.values)
    if (key != "general.alignment") w.set(key, value);
  if (options.weight_type)
    if (auto id = file_type_id(*options.weight_type)) w.set_u32("general.file_type", *id);
  if (options.mix) w.set_u32("general.file_type", quant_mix_file_type(*options.mix));
  const MixedModel model = mixed_model_of(in);

  ThreadPool pool(default_thread_count());
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    const io::TensorInfo& t = in.tensors[i];
    // Left out: a file without output.weight is read as tied.
    if (is_view_of_embedding(in, t)) continue;
    const DType out_type = converted_type(t, options, model);
    if (options.on_tensor) options.on_tensor(i, in.tensors.size(), t, out_type);
    if (out_type == t.type) {
      w.add_tensor(t.name, t.type, t.ne, t.data, t.nbytes);
      continue;
    }
    if (!kernels::supports(t.type))
      fail("{}: tensor '{}' has type {}, which cannot be converted", in.path, t.name, dtype_name(t.type));
    const int64_t cols = t.ne[0], rows = t.n_elements() / cols;
    const size_t in_row = row_bytes(t.type, cols), out_row = row_bytes(out_type, cols);  // out_row checks cols
    std::vector<uint8_t> bytes(out_row * static_cast<size_t>(rows));
    convert_rows(pool, out_type, rows, cols, bytes.data(), [&](int64_t r, float* row) {
      kernels::dequantize_row(t.type, t.data + static_cast<size_t>(r) * in_row, row, cols);
    });
    w.add_tensor(t.name, out_type, t.ne, std::move(bytes));
  }
  w.write(out_path);
}

}  // namespace tessera::engine

namespace tessera {

void convert_model_file(const std::string& in_path, const std::string& out_path, const ConvertOptions& o) {
  engine::ConvertOptions options;
  if (!o.weight_type.empty()) {
    const auto choice = engine::parse_weight_type(o.weight_type);
    if (const auto* mix = std::get_if<engine::QuantMix>(&choice))
      options.mix = *mix;
    else
      options.weight_type = std::get<DType>(choice);
  }
  if (o.on_tensor)
    options.on_tensor = [&](size_t i, size_t n, const io::TensorInfo& t, DType out) {
      o.on_tensor(i, n, t.name, std::string(dtype_name(t.type)), std::string(dtype_name(out)));
    };
  engine::convert_model(io::open_model_file(in_path, o.tokenizer_path), out_path, options);
}

}  // namespace tessera
