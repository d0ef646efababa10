package store

// EndpointsGeneration is how many inventory changes s has seen: it tells a
// test whether a notification reached s.
func (s *Store) EndpointsGeneration() uint64 { return s.cache.endpointsGen.Load() }
