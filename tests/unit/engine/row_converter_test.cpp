#include "engine/row_converter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/reference.h"

namespace tessera::engine {
namespace {

// Rows spread over threads give the bytes the reference quantizer writes row by
// row, whatever the pool size.
TEST(ConvertRows, MatchesRowByRowReferenceOnAnyPool) {
  for (DType type : {DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K})
    for (int threads : {1, 3}) {
      SCOPED_TRACE(testing::Message() << dtype_name(type) << " threads=" << threads);
      const int64_t rows = 37, cols = 512;
      std::vector<float> values(static_cast<size_t>(rows * cols));
      for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
      const size_t stride = row_bytes(type, cols);
      std::vector<uint8_t> want(stride * rows), got(stride * rows, 0xab);
      for (int64_t r = 0; r < rows; ++r) kernels::ref::quantize_row(type, values.data() + r * cols, want.data() + r * stride, cols);
      ThreadPool pool(threads);
      convert_rows(pool, type, rows, cols, got.data(), [&](int64_t r, float* row) {
        for (int64_t c = 0; c < cols; ++c) row[c] = values[static_cast<size_t>(r * cols + c)];
      });
      EXPECT_EQ(got, want);
    }
}

}  // namespace
}  // namespace tessera::engine
