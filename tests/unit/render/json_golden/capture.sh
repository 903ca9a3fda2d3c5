#!/bin/sh
# Regenerates the goldens with the real nft 1.0.6 in a throwaway network namespace.
set -e
cd "$(dirname "$0")"
NS=pktjsonout$$
ip netns add "$NS"
trap 'ip netns del "$NS"' EXIT
ip netns exec "$NS" nft -f g1.nft
ip netns exec "$NS" nft -j list ruleset > g1.ruleset.json
ip netns exec "$NS" nft -j -s list ruleset > g1.ruleset.s.json
ip netns exec "$NS" nft -j -t list ruleset > g1.ruleset.t.json
ip netns exec "$NS" nft -j -a list ruleset > g1.ruleset.a.json
ip netns exec "$NS" nft -j list table inet t > g1.table.json
ip netns exec "$NS" nft -j list tables > g1.tables.json
ip netns exec "$NS" nft -j list chains > g1.chains.json
ip netns exec "$NS" nft -j list chain inet t c > g1.chain.json
ip netns exec "$NS" nft -j list sets > g1.sets.json
ip netns exec "$NS" nft -j list maps > g1.maps.json
ip netns exec "$NS" nft -j list set inet t s > g1.set.json
ip netns exec "$NS" nft -j list counters > g1.counters.json
ip netns exec "$NS" nft -j list quotas > g1.quotas.json
ip netns exec "$NS" nft -j list limits > g1.limits.json
ip netns exec "$NS" nft list ruleset > g1.ruleset.txt
