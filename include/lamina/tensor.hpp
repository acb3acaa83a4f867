// Owning tensors and non-owning views over contiguous row-major data.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lamina/detail/aligned.hpp"
#include "lamina/error.hpp"
#include "lamina/random.hpp"
#include "lamina/shape.hpp"

namespace lamina {

template <class T, class S>
class tensor;
template <class T, class S>
class tensor_view;

namespace detail {

// Integer literals make float tensors, as torch.FloatTensor([1, 2, 3]) does.
template <class T>
using float_of = std::conditional_t<std::is_integral_v<T>, float, T>;

inline std::string format_number(double v, int mode) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char b[48];
    if (mode == 0) std::snprintf(b, sizeof b, "%.0f.", v);       // all integral
    else if (mode == 1) std::snprintf(b, sizeof b, "%.4f", v);   // moderate range
    else std::snprintf(b, sizeof b, "%.4e", v);                  // wide range
    return b;
}

/// PyTorch-style printing, laid out as torch's _tensor_str lays it out: the format (integral,
/// four decimals or scientific) and the column width chosen from the nonzero finite values that
/// show, rows wrapped at 80 columns, and past 1000 elements only three items at each end of
/// every axis longer than six, with "..." between.
template <class T>
void print(std::ostream& os, T const* p, std::span<std::size_t const> ext, std::string const& shape_str) {
    constexpr std::size_t edge = 3, linewidth = 80, threshold = 1000;
    std::size_t const rank = ext.size();
    std::size_t n = 1;
    for (auto e : ext) n *= e;
    bool const summarize = n > threshold;
    std::vector<std::size_t> stride(rank, 1);
    for (std::size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * ext[d];
    // Calls f(i) for each index of axis d that shows, and f(dots) where "..." stands.
    constexpr std::size_t dots = std::size_t(-1);
    auto shown = [&](std::size_t d, auto&& f) {
        std::size_t const e = ext[d];
        bool const cut = summarize && e > 2 * edge;
        for (std::size_t i = 0; i < e; ++i) {
            if (cut && i == edge) {
                f(dots);
                i = e - edge;
            }
            f(i);
        }
    };
    // PyTorch's rule, over the nonzero finite values that show: integers print as "3.", a range
    // of more than three decades, a value past 1e8 or, unless all are integers, below 1e-4 in
    // scientific notation.
    bool integral = true;
    double amax = 0, amin = INFINITY;
    auto scan = [&](auto&& self, std::size_t d, std::size_t off, auto&& f) -> void {
        if (d == rank) return f(static_cast<double>(p[off]));
        shown(d, [&](std::size_t i) {
            if (i != dots) self(self, d + 1, off + i * stride[d], f);
        });
    };
    auto const nonzero_finite = [&](auto&& f) {
        if (n != 0)
            scan(scan, 0, 0, [&](double v) {
                if (std::isfinite(v) && v != 0) f(v);
            });
    };
    nonzero_finite([&](double v) {
        integral = integral && v == std::ceil(v);
        amax = std::max(amax, std::abs(v));
        amin = std::min(amin, std::abs(v));
    });
    bool const sci = amin != INFINITY && (amax / amin > 1000 || amax > 1e8 || (!integral && amin < 1e-4));
    int const mode = sci ? 2 : (integral ? 0 : 1);
    std::size_t width = 1;  // zeros, infinities and NaN may stick out, as in PyTorch
    nonzero_finite([&](double v) { width = std::max(width, format_number(v, mode).size()); });
    auto const item = [&](std::size_t off) {
        auto s = format_number(static_cast<double>(p[off]), mode);
        return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
    };
    // Axis d from offset off, its first line indent columns in (each "[" adds one).
    auto rec = [&](auto&& self, std::size_t d, std::size_t off, std::size_t indent) -> std::string {
        if (d == rank) return item(off);
        std::string out = "[";
        if (d + 1 == rank) {  // a row: as many items a line as fit in linewidth
            std::size_t const per_line = std::max<std::size_t>(1, (linewidth - std::min(indent, linewidth)) / (width + 2));
            std::size_t k = 0;
            shown(d, [&](std::size_t i) {
                if (k != 0 && k % per_line == 0) out.append(",\n").append(indent + 1, ' ');
                else if (k != 0) out.append(", ");
                out += i == dots ? std::string(" ...") : item(off + i);
                ++k;
            });
        } else {  // rows of rows: a blank line between blocks for every axis below
            bool first = true;
            shown(d, [&](std::size_t i) {
                if (!first) out.append(",").append(rank - d - 1, '\n').append(indent + 1, ' ');
                first = false;
                out += i == dots ? std::string("...") : self(self, d + 1, off + i * stride[d], indent + 1);
            });
        }
        return out + "]";
    };
    std::string out = "tensor(";
    std::size_t const indent = out.size();
    out += n == 0 && rank != 0 ? std::string("[]") : rec(rec, 0, 0, indent);
    // Then the suffixes, each on a line of its own where it would pass linewidth (torch's
    // _add_suffixes, its count of the last line included). PyTorch names every value type
    // but its default one: float32 prints none, double does.
    std::size_t const newline = out.rfind('\n');
    std::size_t last_line = newline == std::string::npos ? out.size() + 2 : out.size() - newline + 1;
    auto const suffix = [&](std::string const& text) {
        if (last_line + text.size() + 2 > linewidth) {
            out.append(",\n").append(indent, ' ').append(text);
            last_line = indent + text.size();
        } else {
            out.append(", ").append(text);
            last_line += text.size() + 2;
        }
    };
    if constexpr (std::is_same_v<T, double>) suffix("dtype=float64");
    suffix("shape=" + shape_str);
    os << out << ")";
}

template <class S, std::size_t... I, class... Idx>
constexpr std::size_t offset(std::size_t batch, std::index_sequence<I...>, Idx... idx) {
    auto ext = S::runtime_extents(batch);
    std::size_t off = 0;
    ((off = off * ext[I] + static_cast<std::size_t>(idx)), ...);
    return off;
}

}  // namespace detail

/// What tensors and views share: shape queries, element access, iteration, printing.
template <class D, class T, class S>
class tensor_base {
public:
    using is_lamina_tensor = void;
    using value_type = std::remove_const_t<T>;
    using shape_type = S;
    static constexpr std::size_t rank = S::rank;

    std::size_t batch() const noexcept { return self().batch_; }
    std::size_t size() const noexcept { return S::size(batch()); }
    std::size_t rows() const noexcept { return S::rows(batch()); }
    /// Run-time extents (the batch filled in).
    std::array<std::size_t, rank> extents() const noexcept { return S::runtime_extents(batch()); }
    std::string shape_str() const { return S::str(batch()); }

    auto* begin() noexcept { return self().data(); }
    auto* end() noexcept { return self().data() + size(); }
    auto const* begin() const noexcept { return self().data(); }
    auto const* end() const noexcept { return self().data() + size(); }

    /// Unchecked element access, one index per axis.
    template <std::integral... I>
        requires(sizeof...(I) == rank)
    decltype(auto) operator()(I... i) noexcept {
        return self().data()[detail::offset<S>(batch(), std::make_index_sequence<rank>{}, i...)];
    }
    template <std::integral... I>
        requires(sizeof...(I) == rank)
    decltype(auto) operator()(I... i) const noexcept {
        return self().data()[detail::offset<S>(batch(), std::make_index_sequence<rank>{}, i...)];
    }
    /// Bounds-checked element access.
    template <std::integral... I>
        requires(sizeof...(I) == rank)
    decltype(auto) at(I... i) const {
        auto ext = extents();
        std::size_t d = 0;
        ((static_cast<std::size_t>(i) >= ext[d++]
              ? throw shape_error("lamina::tensor::at: index " + std::to_string(i) + " is out of range for axis " +
                                  std::to_string(d - 1) + " of a tensor of shape " + shape_str())
              : void()),
         ...);
        return (*this)(i...);
    }
    /// A copy, as a tensor of its own (torch's .clone(); an expression's eval()).
    auto eval() const { return tensor<value_type, S>(tensor_view<T const, S>(self().data(), batch())); }
    /// The value of a one-element tensor (torch's .item()).
    value_type item() const {
        if (size() != 1)
            throw shape_error("lamina::item: a tensor of shape " + shape_str() + " has " + std::to_string(size()) +
                              " elements, not 1");
        return self().data()[0];
    }

    friend std::ostream& operator<<(std::ostream& os, D const& t) {
        auto ext = t.extents();
        detail::print(os, t.data(), std::span<std::size_t const>(ext.data(), ext.size()), t.shape_str());
        return os;
    }

private:
    D& self() noexcept { return static_cast<D&>(*this); }
    D const& self() const noexcept { return static_cast<D const&>(*this); }
};

/// A non-owning view of contiguous row-major data with static extents (T may be const).
template <class T, class S>
class tensor_view : public tensor_base<tensor_view<T, S>, T, S> {
    friend class tensor_base<tensor_view<T, S>, T, S>;

public:
    tensor_view() = default;
    /// `batch` is the leading extent when S has a dynamic batch; ignored otherwise.
    tensor_view(T* data, std::size_t batch = S::batch_of(0)) noexcept : data_(data), batch_(S::batch_of(batch)) {}
    template <class U>
        requires std::is_convertible_v<U*, T*>
    tensor_view(tensor_view<U, S> const& o) noexcept : tensor_view(o.data(), o.batch()) {}

    T* data() const noexcept { return data_; }

private:
    T* data_ = nullptr;
    std::size_t batch_ = S::batch_of(0);
};

/// An owning tensor: 64-byte aligned storage, static extents with an optional dynamic batch.
template <class T, class S>
class tensor : public tensor_base<tensor<T, S>, T, S> {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "lamina::tensor: the value type must be float or double");
    static_assert(is_shape<S>::value, "lamina::tensor: the second argument must be a lamina::shape<...>");
    friend class tensor_base<tensor<T, S>, T, S>;

public:
    /// Zeros when the shape is static; an empty batch otherwise.
    tensor() : buf_(S::size(0)) { std::fill_n(buf_.data(), buf_.size(), T(0)); }
    /// Zeros with `batch` samples.
    explicit tensor(std::size_t batch)
        requires S::dynamic
        : buf_(S::size(batch)), batch_(batch) {
        std::fill_n(buf_.data(), buf_.size(), T(0));
    }
    /// The values in row-major order: tensor{1, 2, 3, 4, 5}.
    template <class... U>
        requires(!S::dynamic && sizeof...(U) > 1 && (std::is_arithmetic_v<U> && ...))
    tensor(U... v) : buf_(S::static_size) {
        static_assert(sizeof...(U) == S::static_size,
                      "lamina::tensor: the number of values differs from the number of elements of the shape");
        T* p = buf_.data();
        ((*p++ = static_cast<T>(v)), ...);
    }
    /// The one value of a tensor of one element: tensor<float, shape<>>{3.5} (torch.tensor(3.5)).
    /// Explicit, so that a number never turns into a tensor unasked.
    template <class U>
        requires(!S::dynamic && S::static_size == 1 && std::is_arithmetic_v<U>)
    explicit tensor(U v) : buf_(1) {
        buf_.data()[0] = static_cast<T>(v);
    }
    /// From nested arrays: tensor({{1, 2}, {3, 4}}).
    template <class U, std::size_t N>
        requires(S::rank == 1 && (S::dynamic || S::extents[0] == N))
    tensor(U const (&a)[N]) : tensor(from_flat(&a[0], N)) {}
    template <class U, std::size_t M, std::size_t N>
        requires(S::rank == 2 && (S::dynamic || S::extents[0] == M) && S::extents[1] == N)
    tensor(U const (&a)[M][N]) : tensor(from_flat(&a[0][0], M)) {}
    template <class U, std::size_t M, std::size_t N, std::size_t P>
        requires(S::rank == 3 && (S::dynamic || S::extents[0] == M) && S::extents[1] == N && S::extents[2] == P)
    tensor(U const (&a)[M][N][P]) : tensor(from_flat(&a[0][0][0], M)) {}
    /// The same with literals of mixed types, each converted to T: tensor({{1, 2}, {0.5, 4}}).
    template <std::size_t N>
        requires(S::rank == 1 && (S::dynamic || S::extents[0] == N))
    tensor(T const (&a)[N]) : tensor(from_flat(&a[0], N)) {}
    template <std::size_t M, std::size_t N>
        requires(S::rank == 2 && (S::dynamic || S::extents[0] == M) && S::extents[1] == N)
    tensor(T const (&a)[M][N]) : tensor(from_flat(&a[0][0], M)) {}
    template <std::size_t M, std::size_t N, std::size_t P>
        requires(S::rank == 3 && (S::dynamic || S::extents[0] == M) && S::extents[1] == N && S::extents[2] == P)
    tensor(T const (&a)[M][N][P]) : tensor(from_flat(&a[0][0][0], M)) {}
    /// A copy of a view's data (a net's output, which is valid until the net's next call, kept:
    /// `lm::tensor<float, lm::shape<lm::dyn, 10>> y = net(x);`). The view may have a fixed batch
    /// where this tensor's is set at run time (detail::holds_shape).
    template <class U, class S2>
        requires(std::same_as<std::remove_const_t<U>, T> && detail::holds_shape<S, S2>)
    tensor(tensor_view<U, S2> const& v) : buf_(v.size()), batch_(S2::batch_of(v.batch())) {
        std::copy_n(v.data(), v.size(), buf_.data());
    }
    /// A copy of a tensor of a fixed batch into one whose batch is set at run time:
    /// `lm::tensor<float, lm::shape<lm::dyn, 2>> x = lm::tensor({{1, 2}, {3, 4}});`.
    template <class S2>
        requires(!std::is_same_v<S2, S> && detail::holds_shape<S, S2>)
    tensor(tensor<T, S2> const& t) : tensor(tensor_view<T const, S2>(t.data(), t.batch())) {}
    /// From any lamina expression of this shape, or of this shape with a fixed batch where
    /// this one's is set at run time (defined with the evaluator).
    template <class E>
        requires requires { typename std::remove_cvref_t<E>::is_lamina_expr; }
    tensor(E const& e);

    T* data() noexcept { return buf_.data(); }
    T const* data() const noexcept { return buf_.data(); }
    tensor_view<T, S> view() noexcept { return {data(), batch_}; }
    tensor_view<T const, S> view() const noexcept { return {data(), batch_}; }
    operator tensor_view<T, S>() noexcept { return view(); }
    operator tensor_view<T const, S>() const noexcept { return view(); }

    /// Sets the batch extent; keeps capacity, so a repeated size never allocates.
    void resize(std::size_t batch)
        requires S::dynamic
    {
        buf_.resize(S::size(batch));
        batch_ = batch;
    }
    void fill(T v) noexcept { std::fill_n(data(), this->size(), v); }
    /// Frees this tensor's values and uses owner's from now on (a shared parameter); owner must
    /// outlive it. A copy owns a copy of the values.
    void borrow(tensor& owner) noexcept
        requires(!S::dynamic)
    {
        buf_.borrow(owner.buf_);
    }
    /// Whether the values are another tensor's (borrow).
    bool borrowed() const noexcept { return buf_.borrowed(); }
    /// Tells lamina that the values changed through a pointer, span or view taken before the
    /// last forward call. Every non-const access (data(), element access, iteration, view())
    /// already counts as a write: a layer then packs its weights for the GEMM again.
    void mark_modified() noexcept { buf_.touch(); }
    /// Which allocation the values live in and how often they were handed out for writing.
    detail::block_stamp const* stamp() const noexcept { return buf_.stamp(); }

    static tensor full(T v, std::size_t batch = S::batch_of(0)) {
        tensor t = make(batch);
        t.fill(v);
        return t;
    }
    static tensor zeros(std::size_t batch = S::batch_of(0)) { return full(T(0), batch); }
    /// Values left unset, for code that writes every one before reading any (torch.empty).
    static tensor empty(std::size_t batch = S::batch_of(0)) { return make(batch); }
    static tensor ones(std::size_t batch = S::batch_of(0)) { return full(T(1), batch); }
    /// Uniform in [0, 1) (torch.rand).
    static tensor rand(std::size_t batch, generator& g = default_generator()) {
        tensor t = make(batch);
        for (auto& x : t) {
            x = static_cast<T>(g.uniform());
            if (x >= T(1)) x = std::nextafter(T(1), T(0));
        }
        return t;
    }
    static tensor rand(generator& g = default_generator())
        requires(!S::dynamic)
    {
        return rand(S::batch_of(0), g);
    }
    /// Standard normal (torch.randn).
    static tensor randn(std::size_t batch, generator& g = default_generator()) {
        tensor t = make(batch);
        for (auto& x : t) x = static_cast<T>(g.normal());
        return t;
    }
    static tensor randn(generator& g = default_generator())
        requires(!S::dynamic)
    {
        return randn(S::batch_of(0), g);
    }

private:
    struct uninit {};
    tensor(uninit, std::size_t batch) : buf_(S::size(batch)), batch_(S::batch_of(batch)) {}
    static tensor make(std::size_t batch) { return tensor(uninit{}, batch); }
    template <class U>
    static tensor from_flat(U const* p, std::size_t lead) {
        tensor t = make(lead);
        std::transform(p, p + t.size(), t.data(), [](U v) { return static_cast<T>(v); });
        return t;
    }

    detail::buffer<T> buf_;
    std::size_t batch_ = S::batch_of(0);
};

template <class T, class... U>
    requires(std::is_arithmetic_v<T> && (std::is_arithmetic_v<U> && ...))
tensor(T, U...) -> tensor<std::conditional_t<(std::is_same_v<T, U> && ...), detail::float_of<T>, float>, shape<1 + sizeof...(U)>>;
template <class T, std::size_t N>
tensor(T const (&)[N]) -> tensor<detail::float_of<T>, shape<N>>;
template <class T, std::size_t M, std::size_t N>
tensor(T const (&)[M][N]) -> tensor<detail::float_of<T>, shape<M, N>>;
template <class T, std::size_t M, std::size_t N, std::size_t P>
tensor(T const (&)[M][N][P]) -> tensor<detail::float_of<T>, shape<M, N, P>>;
namespace detail {
// One number of a nested list whose literals are of several types ({{1, 2}, {0.5, 4}}): the list
// then makes float, as torch.tensor's does.
struct mixed_literal {
    template <class A>
        requires std::is_arithmetic_v<A>
    constexpr mixed_literal(A) noexcept {}
};
}  // namespace detail
template <std::size_t N>
tensor(detail::mixed_literal const (&)[N]) -> tensor<float, shape<N>>;
template <std::size_t M, std::size_t N>
tensor(detail::mixed_literal const (&)[M][N]) -> tensor<float, shape<M, N>>;
template <std::size_t M, std::size_t N, std::size_t P>
tensor(detail::mixed_literal const (&)[M][N][P]) -> tensor<float, shape<M, N, P>>;
template <class E>
    requires requires { typename std::remove_cvref_t<E>::is_lamina_expr; }
tensor(E const&) -> tensor<typename E::value_type, typename E::shape_type>;
/// A copy of a view, or of a net's output: lamina::tensor y(net(x)).
template <class U, class S>
tensor(tensor_view<U, S> const&) -> tensor<std::remove_const_t<U>, S>;

/// torch.rand(E...): float32, uniform in [0, 1). With a dynamic batch, pass it first.
template <std::size_t... E>
auto rand(generator& g = default_generator())
    requires(!shape<E...>::dynamic)
{
    return tensor<float, shape<E...>>::rand(g);
}
template <std::size_t... E>
auto rand(std::size_t batch, generator& g = default_generator())
    requires(shape<E...>::dynamic)
{
    return tensor<float, shape<E...>>::rand(batch, g);
}
/// torch.randn(E...): float32, standard normal. With a dynamic batch, pass it first.
template <std::size_t... E>
auto randn(generator& g = default_generator())
    requires(!shape<E...>::dynamic)
{
    return tensor<float, shape<E...>>::randn(g);
}
template <std::size_t... E>
auto randn(std::size_t batch, generator& g = default_generator())
    requires(shape<E...>::dynamic)
{
    return tensor<float, shape<E...>>::randn(batch, g);
}

}  // namespace lamina
