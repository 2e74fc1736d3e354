# Benign look-alike: numeric code with short names (l, I, O, x0, x1) that are not runs of confusable characters.


def solve(A, b):
    n = len(A)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for I in range(n):
        p = max(range(I, n), key=lambda r: abs(M[r][I]))
        M[I], M[p] = M[p], M[I]
        for l in range(I + 1, n):
            f = M[l][I] / M[I][I]
            M[l] = [x0 - f * x1 for x0, x1 in zip(M[l], M[I])]
    O = [0.0] * n
    for I in reversed(range(n)):
        O[I] = (M[I][n] - sum(M[I][k] * O[k] for k in range(I + 1, n))) / M[I][I]
    return O
