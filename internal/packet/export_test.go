package packet

// DecodeLayers decodes through the layer parser only, never the fast path:
// the reference the fast path is held to.
func (d *Decoder) DecodeLayers(link uint16, data []byte, s *Summary) error {
	return d.decodeLayers(link, data, s)
}

// Fast is the fast path alone.
func (d *Decoder) Fast(data []byte, s *Summary) bool { return d.fast(data, s) }
