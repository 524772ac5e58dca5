package polygon

import "strconv"

// conditionNames maps the vendor's numeric trade condition ids to OPRA
// mnemonics, the names pkg/score and the tape use. The vendor numbers OPRA's
// one-letter condition codes in order: 201 to 226 are 'A' to 'Z', 227 to 248
// are 'a' to 'v'. Letters OPRA does not assign have no entry.
var conditionNames = map[int]string{
	201: "CANC", // A: cancel of a print that was neither last nor opening
	202: "OSEQ", // B: late and out of sequence
	203: "CNCL", // C: cancel of the last print
	204: "LATE", // D: late, in sequence
	205: "CNCO", // E: cancel of the opening print
	206: "OPEN", // F: late report of the opening print, out of sequence
	207: "CNOL", // G: cancel of the only print
	208: "OPNL", // H: late report of the opening print, in sequence
	209: "AUTO", // I: executed electronically
	210: "REOP", // J: reopening after a halt
	211: "AJST", // K: adjusted
	212: "SPRD", // L: spread
	213: "STDL", // M: straddle
	214: "STPD", // N: stopped
	215: "CSTP", // O: cancel of a stopped print
	216: "BWRT", // P: buy-write
	217: "CMBO", // Q: combination
	218: "SPIM", // R: special implied
	219: "ISOI", // S: intermarket sweep order
	220: "BNMT", // T: benchmark
	224: "XMPT", // X: trade-through exempt
	227: "SLAN", // a: single-leg auction
	228: "SLAI", // b: single-leg auction, ISO
	229: "SLCN", // c: single-leg cross
	230: "SLCI", // d: single-leg cross, ISO
	231: "SLFT", // e: single-leg floor trade
	232: "MLET", // f: multi-leg electronic
	233: "MLAT", // g: multi-leg auction
	234: "MLCT", // h: multi-leg cross
	235: "MLFT", // i: multi-leg floor
	236: "MESL", // j: multi-leg electronic against single legs
	237: "TLAT", // k: stock-option auction
	238: "MASL", // l: multi-leg auction against single legs
	239: "MFSL", // m: multi-leg floor against single legs
	240: "TLET", // n: stock-option electronic
	241: "TLCT", // o: stock-option cross
	242: "TLFT", // p: stock-option floor
	243: "TESL", // q: stock-option electronic against single legs
	244: "TASL", // r: stock-option auction against single legs
	245: "TFSL", // s: stock-option floor against single legs
	246: "CBMO", // t: multi-leg floor trade of three or more legs
	247: "MCTP", // u: compression
	248: "EXHT", // v: extended hours
}

// ConditionName returns the OPRA mnemonic of a vendor condition id, and
// false with the id in decimal for an id it does not know: the print keeps
// the condition, which the scorer treats as having no effect.
func ConditionName(id int) (string, bool) {
	if s, ok := conditionNames[id]; ok {
		return s, true
	}
	return strconv.Itoa(id), false
}

// exchangeNames maps the vendor's numeric option exchange ids to short
// names. The vendor numbers exchanges 300 plus the place in the alphabet of
// their OPRA participant letter ('A' is 300).
var exchangeNames = map[int]string{
	300: "AMEX",  // A: NYSE American Options
	301: "BOX",   // B: BOX Options
	302: "CBOE",  // C: Cboe Options
	303: "EMLD",  // D: MIAX Emerald
	304: "EDGX",  // E: Cboe EDGX Options
	307: "GEMX",  // H: Nasdaq GEMX
	308: "ISE",   // I: Nasdaq ISE
	309: "MRX",   // J: Nasdaq MRX
	312: "MIAX",  // M: MIAX Options
	313: "ARCA",  // N: NYSE Arca Options
	314: "OPRA",  // O: OPRA itself
	315: "PEARL", // P: MIAX Pearl
	316: "NSDQ",  // Q: Nasdaq Options Market
	319: "BX",    // T: Nasdaq BX Options
	320: "MEMX",  // U: MEMX Options
	322: "C2",    // W: Cboe C2
	323: "PHLX",  // X: Nasdaq PHLX
	325: "BZX",   // Z: Cboe BZX Options
}

// exchangeName returns the short name of a vendor exchange id, or the id in
// decimal for one it does not know, so that distinct exchanges stay
// distinct (sweep detection counts them).
func exchangeName(id int) string {
	if s, ok := exchangeNames[id]; ok {
		return s
	}
	return strconv.Itoa(id)
}
