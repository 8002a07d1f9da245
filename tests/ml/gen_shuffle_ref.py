#!/usr/bin/python3
"""An independent Python rendering of the epoch shuffle of src/ml/batch.c (SplitMix64,
Fisher-Yates, rejection sampling), printing the permutations tests/ml/test_batch.c
expects, and SplitMix64's first outputs for seed 1234567 (the values published with
Vigna's reference splitmix64.c)."""
M = (1 << 64) - 1


def splitmix64(st):
    st[0] = (st[0] + 0x9E3779B97F4A7C15) & M
    z = st[0]
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def below(st, bound):
    limit = M - M % bound
    while True:
        r = splitmix64(st)
        if r < limit:
            return r % bound


def shuffle(n, seed, epoch):
    st = [seed]
    st = [splitmix64(st) ^ epoch]
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = below(st, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


if __name__ == "__main__":
    for n, seed, epoch in ((10, 1, 0), (10, 1, 1), (10, 42, 0)):
        print("n=%d seed=%d epoch=%d:" % (n, seed, epoch), shuffle(n, seed, epoch))
    st = [1234567]
    print("splitmix64(1234567):", [splitmix64(st) for _ in range(3)])
