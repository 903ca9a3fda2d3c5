#!/bin/bash
# capture nft 1.0.6 listings of $1 into directory $2

F=$(readlink -f $1); D=$2; mkdir -p $D; cd $D
NS=pktrender$$; ip netns add $NS; trap "ip netns del $NS" EXIT
ip netns exec $NS ip link set lo up
ip netns exec $NS ip link add d0 type veth peer name d1
ip netns exec $NS nft -f $F
for o in "" "-a" "-s" "-t" "-n" "-y" "-nn" "-p" "-T" "-S" "-u" "-N" "-as"; do ip netns exec $NS nft $o list ruleset > out$o.txt; done
ip netns exec $NS nft list tables > tables.txt
ip netns exec $NS nft list table inet filter > table.txt || true
ip netns exec $NS nft -a list table inet filter > table-a.txt
ip netns exec $NS nft list chains > chains.txt
ip netns exec $NS nft list chain inet filter input > chain.txt
ip netns exec $NS nft list sets > sets.txt; ip netns exec $NS nft list maps > maps.txt
ip netns exec $NS nft list counters > counters.txt; ip netns exec $NS nft list quotas > quotas.txt; ip netns exec $NS nft list limits > limits.txt
ip netns exec $NS nft list set inet filter blocked > set.txt
ip netns exec $NS nft list map inet filter portmap > map.txt
ip netns exec $NS nft list flowtables > flowtables.txt
ip netns exec $NS nft list ct helpers table inet filter > helpers.txt 2>&1 || true
ip netns exec $NS nft list ct timeout table inet filter > cttimeout.txt 2>&1 || true
ip netns exec $NS nft list ct expectation table inet filter > ctexp.txt 2>&1 || true
ip netns exec $NS nft list counter inet filter cnt1 > counter.txt 2>&1
