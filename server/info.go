package server

import (
	"net/http"
)

// handleHealth answers 200 while serving and 503 once shutdown has begun.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	running, waiting := s.adm.load()
	status, code := "ok", http.StatusOK
	if s.stopping.Load() {
		status, code = "shutting_down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "running": running, "waiting": waiting})
}

// modelObject is one entry of /v1/models.
type modelObject struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	MaxModelLen int    `json:"max_model_len,omitempty"`
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.o.ModelName, Object: "model", Created: s.created, OwnedBy: "sdtp", MaxModelLen: s.o.MaxContext}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelObject{s.modelObject()}})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	if id := r.PathValue("id"); id != s.o.ModelName {
		writeError(w, s.unknownModel(id))
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
}

func (s *Server) unknownModel(name string) *apiError {
	e := newError(http.StatusNotFound, typeInvalidRequest, "model_not_found", "the model %q does not exist; this server serves %q", name, s.o.ModelName)
	e.Param = strPtr("model")
	return e
}

// checkModel accepts an empty model name or the served one.
func (s *Server) checkModel(name string) error {
	if name != "" && name != s.o.ModelName {
		return s.unknownModel(name)
	}
	return nil
}
