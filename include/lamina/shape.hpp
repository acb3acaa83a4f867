// Static extents, with an optional dynamic batch extent in front.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>

namespace lamina {

/// The extent known only at run time; allowed in the first (batch) position only.
inline constexpr std::size_t dyn = std::dynamic_extent;

namespace detail {
template <std::size_t... E>
constexpr bool dyn_only_first() {
    std::size_t const e[] = {E..., 0};
    for (std::size_t i = 1; i < sizeof...(E); ++i)
        if (e[i] == dyn) return false;
    return true;
}
// shape<...>::str, one copy for every shape.
inline std::string shape_str(std::span<std::size_t const> extents, bool dynamic, std::size_t batch) {
    std::string s = "(";
    for (std::size_t i = 0; i < extents.size(); ++i) {
        if (i) s += ", ";
        std::size_t v = (i == 0 && dynamic) ? batch : extents[i];
        s += v == dyn ? std::string("batch") : std::to_string(v);
    }
    if (extents.size() == 1) s += ",";
    return s + ")";
}
}  // namespace detail

/// Checked where a shape is named, so the error lands on the user's line.
template <std::size_t... E>
concept only_the_first_extent_may_be_dyn = detail::dyn_only_first<E...>();

/// A tensor shape: every extent static except, optionally, the leading batch extent.
template <std::size_t... E>
    requires only_the_first_extent_may_be_dyn<E...>
struct shape {
    static constexpr std::size_t rank = sizeof...(E);
    static constexpr std::array<std::size_t, rank> extents{E...};
    static constexpr bool dynamic = rank > 0 && extents[0] == dyn;
    /// Elements per leading index (the size of one sample when the batch is dynamic).
    static constexpr std::size_t inner = [] {
        std::size_t n = 1;
        for (std::size_t i = 1; i < rank; ++i) n *= extents[i];
        return n;
    }();
    /// Extent of the last axis: the static row length kernels loop over. A rank-0 shape, and
    /// a dynamic-length vector (shape<dyn>), count as rows of one element.
    static constexpr std::size_t cols = rank == 0 || (rank == 1 && dynamic) ? 1 : extents[rank - 1];
    /// Total size when fully static.
    static constexpr std::size_t static_size = rank == 0 ? 1 : (dynamic ? dyn : extents[0] * inner);

    static constexpr std::size_t size(std::size_t batch) {
        return rank == 0 ? 1 : (dynamic ? batch : extents[0]) * inner;
    }
    /// Number of rows of length `cols` the data splits into.
    static constexpr std::size_t rows(std::size_t batch) { return size(batch) / cols; }
    static constexpr std::size_t batch_of(std::size_t batch) {
        return rank == 0 ? 1 : (dynamic ? batch : extents[0]);
    }
    static constexpr std::array<std::size_t, rank> runtime_extents(std::size_t batch) {
        auto e = extents;
        if constexpr (dynamic) e[0] = batch;
        return e;
    }
    /// "(batch, 8)", or "(4, 8)" given the batch; "(5,)" for a vector, as Python prints it.
    static std::string str(std::size_t batch = dyn) {
        return detail::shape_str(std::span<std::size_t const>(extents.data(), rank), dynamic, batch);
    }
};

template <class S>
struct is_shape : std::false_type {};
template <std::size_t... E>
struct is_shape<shape<E...>> : std::true_type {};

namespace detail {

template <class S, std::size_t... I>
auto drop_front_impl(std::index_sequence<I...>) -> shape<S::extents[I + 1]...>;
template <class S, std::size_t... I>
auto drop_back_impl(std::index_sequence<I...>) -> shape<S::extents[I]...>;

template <class A, class B>
struct concat;
template <std::size_t... A, std::size_t... B>
struct concat<shape<A...>, shape<B...>> {
    using type = shape<A..., B...>;
};

}  // namespace detail

/// The per-sample shape: drops the leading (batch) extent.
template <class S>
using sample_shape_t = decltype(detail::drop_front_impl<S>(std::make_index_sequence<S::rank - 1>{}));
/// Drops the last extent.
template <class S>
using drop_last_t = decltype(detail::drop_back_impl<S>(std::make_index_sequence<S::rank - 1>{}));
template <class A, class B>
using concat_t = typename detail::concat<A, B>::type;

namespace detail {
/// A tensor of shape To can hold a value of shape From: the same shape, or From with a fixed
/// batch where To has a run-time one, (2, 4) into (batch, 4), as torch has only the one kind.
template <class To, class From>
inline constexpr bool holds_shape = [] {
    if constexpr (std::is_same_v<To, From>) return true;
    else if constexpr (!To::dynamic || From::dynamic || To::rank != From::rank) return false;
    else {
        for (std::size_t i = 1; i < To::rank; ++i)
            if (To::extents[i] != From::extents[i]) return false;
        return true;
    }
}();

// Right-aligned numpy broadcasting of static extents. A dynamic extent meets only an
// equal dynamic extent or 1; anything else is not representable and is rejected.
template <class A, class B>
struct broadcast {
    static constexpr std::size_t rank = A::rank > B::rank ? A::rank : B::rank;
    static constexpr std::size_t at(std::size_t i) {  // i counts from the right
        std::size_t a = i < A::rank ? A::extents[A::rank - 1 - i] : 1;
        std::size_t b = i < B::rank ? B::extents[B::rank - 1 - i] : 1;
        if (a == b) return a;
        if (a == 1) return b;
        if (b == 1) return a;
        return 0;  // incompatible
    }
    static constexpr bool ok = [] {
        for (std::size_t i = 0; i < rank; ++i)
            if (at(i) == 0) return false;
        return true;
    }();
    template <std::size_t... I>
    static auto make(std::index_sequence<I...>) -> shape<(ok ? at(rank - 1 - I) : 1)...>;
    using type = decltype(make(std::make_index_sequence<rank>{}));
};

}  // namespace detail

template <class A, class B>
using broadcast_t = typename detail::broadcast<A, B>::type;

}  // namespace lamina
