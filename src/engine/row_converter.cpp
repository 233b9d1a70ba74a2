#include "engine/row_converter.h"

#include <vector>

#include "kernels/kernels.h"

namespace tessera::engine {

void convert_rows(ThreadPool& pool, DType type, int64_t rows, int64_t cols, uint8_t* out,
                  const std::function<void(int64_t r, float* row)>& fill) {
  const size_t stride = row_bytes(type, cols);
  pool.parallel_for(rows, 1, [&](int64_t begin, int64_t end, int) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      fill(r, row.data());
      kernels::quantize_row(type, row.data(), out + static_cast<size_t>(r) * stride, cols);
    }
  });
}

}  // namespace tessera::engine
