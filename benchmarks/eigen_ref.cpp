// eigen_ref.cpp — the references of bench_eigen.cpp, written with Eigen 3's expression
// templates the way its users write them. Compiled twice into bench_eigen: once with
// -O3 -march=native (how a user who cares about speed builds Eigen: EIGREF_SFX native) and
// once with -O2 and no -march (EIGREF_SFX o2), so that one process times lazybk (built -O2,
// no -march, as its users build it) against both, alternately.
#include <Eigen/Core>
#include <cstdint>

#define EIGREF_CAT2(a, b) a##_##b
#define EIGREF_CAT(a, b) EIGREF_CAT2(a, b)
#define EIGREF(name) EIGREF_CAT(eigref_##name, EIGREF_SFX)

typedef Eigen::Map<const Eigen::ArrayXf> CVec;
typedef Eigen::Map<Eigen::ArrayXf> Vec;
typedef Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Rows;
typedef Eigen::Map<const Rows> CMat;
typedef Eigen::Map<Rows> Mat;

extern "C" {
// P2 tanh(x*a+b)*sigmoid(x)
void EIGREF(p2)(const float *x, float *y, int64_t n) { Vec(y, n) = (CVec(x, n) * 0.5f - 0.25f).tanh() * CVec(x, n).logistic(); }
// P1 max(x*a+b,0)*x
void EIGREF(p1)(const float *x, float *y, int64_t n) { Vec(y, n) = (CVec(x, n) * 0.5f - 0.25f).max(0.0f) * CVec(x, n); }
void EIGREF(exp)(const float *x, float *y, int64_t n) { Vec(y, n) = CVec(x, n).exp(); }
void EIGREF(tanh)(const float *x, float *y, int64_t n) { Vec(y, n) = CVec(x, n).tanh(); }
void EIGREF(sigmoid)(const float *x, float *y, int64_t n) { Vec(y, n) = CVec(x, n).logistic(); }
void EIGREF(copy)(const float *x, float *y, int64_t n) { Vec(y, n) = CVec(x, n); }
// sum((x*a+b)*x) over each row
void EIGREF(sumrows)(const float *x, float *y, int64_t r, int64_t c) {
    CMat m(x, r, c);
    Vec(y, r) = ((m * 0.5f - 0.25f) * m).rowwise().sum();
}
// softmax over each row
void EIGREF(softmax)(const float *x, float *y, int64_t r, int64_t c) {
    CMat m(x, r, c);
    Mat o(y, r, c);
    o = (m.colwise() - m.rowwise().maxCoeff()).exp();
    o.colwise() /= o.rowwise().sum();
}
// layer_norm over each row (no weight or bias), eps 1e-5
void EIGREF(layernorm)(const float *x, float *y, int64_t r, int64_t c) {
    CMat m(x, r, c);
    Mat o(y, r, c);
    Eigen::ArrayXf mean = m.rowwise().mean();
    o = m.colwise() - mean;
    Eigen::ArrayXf inv = ((o * o).rowwise().mean() + 1e-5f).rsqrt();
    o.colwise() *= inv;
}
}
