// matmul with numpy semantics on CBLAS: transposed views are passed as transposed operands instead of
// being copied; batch dims broadcast; tiny products use a plain loop, where a BLAS call costs more than
// the arithmetic.
#include <cblas.h>

#include <sstream>

#include "kernels.hpp"

namespace tg {

namespace {

constexpr std::int64_t kTinyFlops = 4096;  // m·n·k below which the plain loop wins

// How a [rows, cols] matrix with strides (sr, sc) can be handed to row-major gemm without a copy.
struct Layout {
  bool ok = false;
  bool trans = false;
  std::int64_t ld = 1;
};

Layout layout_of(std::int64_t rows, std::int64_t cols, std::int64_t sr, std::int64_t sc) {
  Layout l;
  if ((cols == 1 || sc == 1) && (rows == 1 || sr >= cols)) {
    l.ok = true;
    l.ld = rows == 1 ? std::max<std::int64_t>(cols, 1) : std::max<std::int64_t>(sr, 1);
  } else if ((rows == 1 || sr == 1) && (cols == 1 || sc >= rows)) {
    l.ok = true;
    l.trans = true;
    l.ld = cols == 1 ? std::max<std::int64_t>(rows, 1) : std::max<std::int64_t>(sc, 1);
  }
  return l;
}

template <class T>
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda,
          const T* b, std::int64_t ldb, T* c) {
  const auto ta_ = ta ? CblasTrans : CblasNoTrans;
  const auto tb_ = tb ? CblasTrans : CblasNoTrans;
  const auto M = static_cast<blasint>(m);
  const auto N = static_cast<blasint>(n);
  const auto K = static_cast<blasint>(k);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta_, tb_, M, N, K, 1.0f, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), 0.0f, c, N);
  } else {
    cblas_dgemm(CblasRowMajor, ta_, tb_, M, N, K, 1.0, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), 0.0, c, N);
  }
}

// C[m,n] = A[m,k] B[k,n] for strided A and B into contiguous C.
template <class T>
void matmul_kernel(const T* a, std::int64_t sam, std::int64_t sak, const T* b, std::int64_t sbk,
                   std::int64_t sbn, T* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  if (m * n * k <= kTinyFlops) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        T acc = 0;
        for (std::int64_t p = 0; p < k; ++p) acc += a[i * sam + p * sak] * b[p * sbk + j * sbn];
        c[i * n + j] = acc;
      }
    }
    return;
  }
  const Layout la = layout_of(m, k, sam, sak);
  const Layout lb = layout_of(k, n, sbk, sbn);
  gemm<T>(la.trans, lb.trans, m, n, k, a, la.ld, b, lb.ld, c);
}

// A strided matrix inside a tensor's storage: rows × cols with strides (sr, sc), offset as the tensor's.
// A 1-d tensor is a row (a left operand) or a column (a right operand) with stride 0 on the other axis.
struct Mat {
  const Tensor* t;
  std::int64_t rows;
  std::int64_t cols;
  std::int64_t sr;
  std::int64_t sc;
};

Mat left_mat(const Tensor& a) {
  const bool two = a.dim() == 2;
  return {&a, two ? a.shape()[0] : 1, a.shape().back(), two ? a.strides()[0] : 0, a.strides().back()};
}

Mat right_mat(const Tensor& b) {
  const bool two = b.dim() == 2;
  return {&b, b.shape()[0], two ? b.shape()[1] : 1, b.strides()[0], two ? b.strides()[1] : 0};
}

Mat transposed(const Mat& x) { return {x.t, x.cols, x.rows, x.sc, x.sr}; }

// True for a 2-d operand laid out column-major (unit stride down its rows), a transposed contiguous matrix.
bool column_major(const Mat& x) {
  return x.t->dim() == 2 && x.rows > 1 && x.cols > 1 && x.sr == 1 && x.sc == x.rows;
}

// A·B into a new contiguous tensor of the given shape (rows(A)·cols(B) elements). Records nothing.
Tensor mm(const Mat& A, const Mat& B, const Shape& shape) {
  const std::int64_t m = A.rows;
  const std::int64_t k = A.cols;
  const std::int64_t n = B.cols;
  Tensor out = detail::new_tensor(shape, A.t->dtype());
  detail::dispatch_float(A.t->dtype(), "matmul", [&]<class T>() {
    T* c = out.impl()->data<T>();
    if (k == 0) {
      for (std::int64_t i = 0; i < m * n; ++i) c[i] = T(0);
      return;
    }
    if (m == 0 || n == 0) return;
    const bool big = m * n * k > kTinyFlops;
    // An operand BLAS cannot read in place (neither row- nor column-major) is copied first.
    const bool copy_a = big && !layout_of(m, k, A.sr, A.sc).ok;
    const bool copy_b = big && !layout_of(k, n, B.sr, B.sc).ok;
    auto pack = [](const Mat& x) {
      return detail::copy_contiguous(
          detail::make_view(*x.t, {x.rows, x.cols}, {x.sr, x.sc}, x.t->storage_offset()));
    };
    // Pointers, not handle copies: a copied handle costs two atomic refcount updates per operand.
    Tensor ca;
    Tensor cb;
    if (copy_a) ca = pack(A);
    if (copy_b) cb = pack(B);
    const T* pa = (copy_a ? ca : *A.t).impl()->template data<T>();
    const T* pb = (copy_b ? cb : *B.t).impl()->template data<T>();
    matmul_kernel<T>(pa, copy_a ? k : A.sr, copy_a ? 1 : A.sc, pb, copy_b ? n : B.sr, copy_b ? 1 : B.sc, c, m,
                     n, k);
  });
  return out;
}

// A[m,k] B[k,n] for ≤2-d operands; the result drops the promoted dims of 1-d operands.
Tensor matmul_2d(const Tensor& a, const Tensor& b) {
  const Mat A = left_mat(a);
  const Mat B = right_mat(b);
  if (B.rows != A.cols) {
    throw ShapeError("matmul: inner dimensions must match, got " + detail::operand_str(a) + " and " +
                     detail::operand_str(b));
  }
  Shape shape;
  if (a.dim() == 2) shape.push_back(A.rows);
  if (b.dim() == 2) shape.push_back(B.cols);
  return mm(A, B, shape);
}

// d(AB) = g Bᵀ dA + Aᵀ g dB, with 1-d operands promoted to matrices and batch dims summed by push().
class MatmulNode final : public TensorNode {
 public:
  const char* name() const override { return "matmul"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& a = saved(0);
    const Tensor& b = saved(1);
    if (a.dim() == 1 && b.dim() == 1) {
      if (needs(0)) push(0, g * b);
      if (needs(1)) push(1, g * a);
      return;
    }
    if (!creating() && a.dim() <= 2 && b.dim() <= 2) {
      // The same formulas on strided matrices: no views, no shape bookkeeping.
      const Mat A = left_mat(a);
      const Mat B = right_mat(b);
      Mat G{&g, A.rows, B.cols, 0, 0};
      if (a.dim() == 2 && b.dim() == 2) {
        G.sr = g.strides()[0];
        G.sc = g.strides()[1];
      } else if (a.dim() == 2) {
        G.sr = g.strides()[0];
      } else {
        G.sc = g.strides()[0];
      }
      // An operand stored column-major (a transposed view, as the weight in x·Wᵀ) gets its gradient in
      // the same layout, computed as (Gᵀ·A)ᵀ rather than Aᵀ·G: the transpose's backward then turns it back
      // into a contiguous tensor that can become the weight's .grad() without a copy.
      if (needs(0)) {
        push(0, column_major(A) ? mm(B, transposed(G), {A.cols, A.rows}).t() : mm(G, transposed(B), a.shape()));
      }
      if (needs(1)) {
        push(1, column_major(B) ? mm(transposed(G), A, {B.cols, B.rows}).t() : mm(transposed(A), G, b.shape()));
      }
      return;
    }
    const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
    const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
    Tensor g2 = g;
    if (a.dim() == 1) g2 = unsqueeze(g2, -2);
    if (b.dim() == 1) g2 = unsqueeze(g2, -1);
    if (needs(0)) {
      Tensor ga = matmul(g2, transpose(b2, -1, -2));
      push(0, a.dim() == 1 ? squeeze(ga, -2) : ga);
    }
    if (needs(1)) {
      Tensor gb = matmul(transpose(a2, -1, -2), g2);
      push(1, b.dim() == 1 ? squeeze(gb, -1) : gb);
    }
  }
};

Tensor dot(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) {
    throw ShapeError("matmul: inner dimensions must match, got " + detail::operand_str(a) + " and " +
                     detail::operand_str(b));
  }
  Tensor out = detail::new_tensor({}, a.dtype());
  detail::dispatch_float(a.dtype(), "matmul", [&]<class T>() {
    const T* pa = a.impl()->data<T>();
    const T* pb = b.impl()->data<T>();
    const std::int64_t sa = a.strides()[0];
    const std::int64_t sb = b.strides()[0];
    T acc = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) acc += pa[i * sa] * pb[i * sb];
    *out.impl()->data<T>() = acc;
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype("matmul", a, b);
  detail::check_floating("matmul", a);
  if (a.dim() == 0 || b.dim() == 0) {
    throw ShapeError("matmul: both operands need at least 1 dimension, got " + detail::operand_str(a) + " and " +
                     detail::operand_str(b));
  }
  Tensor out;
  if (a.dim() == 1 && b.dim() == 1) {
    out = dot(a, b);
  } else if (a.dim() <= 2 && b.dim() <= 2) {
    out = matmul_2d(a, b);
  } else {
    const Tensor a2 = a.dim() == 1 ? detail::make_view(a, {1, a.shape()[0]}, {0, a.strides()[0]}, a.storage_offset()) : a;
    const Tensor b2 = b.dim() == 1 ? detail::make_view(b, {b.shape()[0], 1}, {b.strides()[0], 0}, b.storage_offset()) : b;
    const std::size_t na = a2.shape().size();
    const std::size_t nb = b2.shape().size();
    const std::int64_t m = a2.shape()[na - 2];
    const std::int64_t k = a2.shape()[na - 1];
    const std::int64_t n = b2.shape()[nb - 1];
    if (b2.shape()[nb - 2] != k) {
      throw ShapeError("matmul: inner dimensions must match, got " + detail::operand_str(a) + " and " +
                       detail::operand_str(b));
    }
    const Shape ba(a2.shape().begin(), a2.shape().end() - 2);
    const Shape bb(b2.shape().begin(), b2.shape().end() - 2);
    Shape batch = detail::broadcast_shapes("matmul", ba, bb, a.label(), b.label());
    Shape shape = batch;
    if (a.dim() > 1) shape.push_back(m);
    if (b.dim() > 1) shape.push_back(n);
    out = detail::new_tensor(shape, a.dtype());
    // Batch strides of each operand, broadcast over the common batch shape.
    auto batch_strides = [&](const Tensor& t) {
      Shape s(batch.size(), 0);
      const std::size_t nd = t.shape().size() - 2;
      const std::size_t lead = batch.size() - nd;
      for (std::size_t i = 0; i < nd; ++i) s[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
      return s;
    };
    const Shape sa = batch_strides(a2);
    const Shape sb = batch_strides(b2);
    detail::dispatch_float(a.dtype(), "matmul", [&]<class T>() {
      T* c = out.impl()->data<T>();
      if (k == 0) {
        for (std::int64_t i = 0; i < out.numel(); ++i) c[i] = T(0);
        return;
      }
      if (m == 0 || n == 0) return;
      const T* pa = a2.impl()->data<T>();
      const T* pb = b2.impl()->data<T>();
      const std::int64_t sam = a2.strides()[na - 2];
      const std::int64_t sak = a2.strides()[na - 1];
      const std::int64_t sbk = b2.strides()[nb - 2];
      const std::int64_t sbn = b2.strides()[nb - 1];
      const bool copy_a = m * n * k > kTinyFlops && !layout_of(m, k, sam, sak).ok;
      const bool copy_b = m * n * k > kTinyFlops && !layout_of(k, n, sbk, sbn).ok;
      const Tensor ca = copy_a ? detail::copy_contiguous(a2) : Tensor();
      const Tensor cb = copy_b ? detail::copy_contiguous(b2) : Tensor();
      const Shape sca = copy_a ? batch_strides(ca) : sa;
      const Shape scb = copy_b ? batch_strides(cb) : sb;
      if (copy_a) pa = ca.impl()->data<T>();
      if (copy_b) pb = cb.impl()->data<T>();
      const std::int64_t am = copy_a ? k : sam;
      const std::int64_t ak = copy_a ? 1 : sak;
      const std::int64_t bk = copy_b ? n : sbk;
      const std::int64_t bn = copy_b ? 1 : sbn;
      detail::for_each_run<2>(batch, {&sca, &scb}, [&](const auto& off, const auto& in, std::int64_t cnt) {
        for (std::int64_t j = 0; j < cnt; ++j) {
          matmul_kernel<T>(pa + off[0] + j * in[0], am, ak, pb + off[1] + j * in[1], bk, bn, c, m, n, k);
          c += m * n;
        }
      });
    });
  }
  if (!detail::any_requires_grad({&a, &b})) return out;
  auto* node = detail::make_node<MatmulNode>();
  node->add_input(a);
  node->add_input(b);
  node->save(a);
  node->save(b);
  node->finish(out);
  return out;
}

Tensor Tensor::matmul(const Tensor& other) const { return tg::matmul(*this, other); }

}  // namespace tg
