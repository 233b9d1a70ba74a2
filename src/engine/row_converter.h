// Writing a matrix in a weight format row by row (quantize, convert, mkmodel):
// rows are independent, so they are spread over the threads of a pool. The
// bytes do not depend on the number of threads.
#pragma once

#include <cstdint>
#include <functional>

#include "core/dtype.h"
#include "core/thread_pool.h"

namespace tessera::engine {

// For each row r < rows: fill(r, row) writes its cols floats, then they are
// stored as `type` at out + r * row_bytes(type, cols). fill runs on pool
// threads, several rows at once.
void convert_rows(ThreadPool& pool, DType type, int64_t rows, int64_t cols, uint8_t* out,
                  const std::function<void(int64_t r, float* row)>& fill);

}  // namespace tessera::engine
