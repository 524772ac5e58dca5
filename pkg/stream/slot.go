package stream

import (
	"strconv"
	"sync"
)

// Redis Cluster places a key by the CRC16 of its hash tag, modulo 16384
// slots, and gives each master a contiguous range of slots. Tags chosen
// naively ("0", "1", ...) land where CRC16 puts them: 16 shards over three
// masters split 6/6/4, over six masters 4/2/2/4/1/3. Instead, the tag of a
// shard is chosen so that its slot is a planned one, spread evenly over the
// slot space whatever the shard count: shard n's slot is n's lowest 14 bits
// in reverse order (0, 8192, 4096, 12288, 2048, ...). The first S shards of a
// power-of-two S then sit exactly 16384/S slots apart, so masters holding
// equal contiguous ranges, as `redis-cli --cluster create` and
// `--cluster rebalance` make them, hold S/M shards each, give or take one.
// Doubling S keeps every shard's slot and puts the new ones halfway between.

// NumSlots is the number of hash slots of a Redis Cluster.
const NumSlots = 16384

// Slot returns the Redis Cluster hash slot of a shard's keys.
func Slot(shard int) int {
	n := uint32(shard) % NumSlots
	var r uint32
	for range 14 {
		r = r<<1 | n&1
		n >>= 1
	}
	return int(r)
}

// tags caches the hash tag of each shard, found once by search.
var tags struct {
	sync.Mutex
	byShard map[int]string
}

// tag returns the hash tag of a shard: "<shard>.<k>" for the smallest k >= 0
// whose CRC16 lands on Slot(shard). The search, once per shard, walks the
// numbers in order digit by digit, one CRC16 step per number tried: about
// 16,000 steps, tens of microseconds.
func tag(shard int) string {
	tags.Lock()
	defer tags.Unlock()
	if t, ok := tags.byShard[shard]; ok {
		return t
	}
	prefix := strconv.AppendInt(nil, int64(shard), 10)
	prefix = append(prefix, '.')
	base, want := crc16(0, prefix), uint16(Slot(shard))
	var k []byte
	for digits := 1; k == nil; digits++ {
		k = findSuffix(base, make([]byte, 0, digits), digits, want)
	}
	t := string(append(prefix, k...))
	if tags.byShard == nil {
		tags.byShard = make(map[int]string)
	}
	tags.byShard[shard] = t
	return t
}

// findSuffix returns the smallest number of left more digits after those in
// buf (no leading zero) whose checksum, continued from c, is want modulo
// NumSlots, or nil when none is.
func findSuffix(c uint16, buf []byte, left int, want uint16) []byte {
	if left == 0 {
		if c%NumSlots == want {
			return buf
		}
		return nil
	}
	first := byte('0')
	if len(buf) == 0 && left > 1 {
		first = '1'
	}
	for d := first; d <= '9'; d++ {
		if out := findSuffix(crc16Byte(c, d), append(buf, d), left-1, want); out != nil {
			return out
		}
	}
	return nil
}

// crc16Table is the byte-wise table of CRC-16/XMODEM (polynomial 0x1021),
// the checksum Redis Cluster hashes keys with.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 continues a CRC-16/XMODEM over b from the checksum c of what came
// before it (0 to start).
func crc16(c uint16, b []byte) uint16 {
	for _, x := range b {
		c = crc16Byte(c, x)
	}
	return c
}

func crc16Byte(c uint16, x byte) uint16 { return c<<8 ^ crc16Table[byte(c>>8)^x] }

// KeySlot returns the Redis Cluster hash slot of a key: the CRC16 of its
// hash tag (the part between the first "{" and the next "}", when not
// empty) or of the whole key.
func KeySlot(key string) int {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j > i+1 {
					key = key[i+1 : j]
				}
				return int(crc16(0, []byte(key)) % NumSlots)
			}
		}
		break
	}
	return int(crc16(0, []byte(key)) % NumSlots)
}
