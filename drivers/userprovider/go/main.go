// The UserProvider demo driver written in Go with plain hashicorp/go-plugin: nothing of
// driverkit's but the proto. Same three users and the same errors as the TypeScript demo.
package main

import (
	"context"
	"os"
	"strconv"
	"strings"

	auditv1 "driverkit/gen/audit/v1"
	userproviderv1 "driverkit/gen/userprovider/v1"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Handshake: the values in proto/driverkit/userprovider/v1/userprovider.proto.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "DRIVERKIT_USERPROVIDER",
	MagicCookieValue: "7d2f1c6e-userprovider-v1",
}

const idp = "http://localhost:9998"

func user(id, username, name string, groups []string, uid int64) *userproviderv1.User {
	return &userproviderv1.User{
		Id:           &userproviderv1.UserId{Idp: idp, OpaqueId: id, Type: userproviderv1.UserType_USER_TYPE_PRIMARY},
		Username:     username,
		Mail:         username + "@example.org",
		MailVerified: true,
		DisplayName:  name,
		Groups:       groups,
		UidNumber:    uid,
		GidNumber:    987,
	}
}

var users = []*userproviderv1.User{
	user("4c510ada-c86b-4815-8820-42cdf82c3d51", "einstein", "Albert Einstein", []string{"sailing-lovers", "violin-haters", "physics-lovers"}, 123),
	user("f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c", "marie", "Marie Curie", []string{"radium-lovers", "polonium-lovers", "physics-lovers"}, 456),
	user("932b4540-8d16-481e-8ef4-588e4b6b151c", "richard", "Richard Feynman", []string{"quantum-lovers", "philosophy-haters", "physics-lovers"}, 789),
}

type server struct {
	log    hclog.Logger
	broker *plugin.GRPCBroker
}

func withoutGroups(u *userproviderv1.User, skip bool) *userproviderv1.User {
	if !skip {
		return u
	}
	c := *u
	c.Groups = nil
	return &c
}

func (s *server) byID(id *userproviderv1.UserId) (*userproviderv1.User, error) {
	if id.GetOpaqueId() == "" {
		return nil, status.Error(codes.InvalidArgument, "user_id.opaque_id is required")
	}
	for _, u := range users {
		if u.Id.OpaqueId == id.OpaqueId && (id.Idp == "" || u.Id.Idp == id.Idp) {
			return u, nil
		}
	}
	if id.Idp != "" {
		return nil, status.Errorf(codes.NotFound, "user %q not found at %q", id.OpaqueId, id.Idp)
	}
	return nil, status.Errorf(codes.NotFound, "user %q not found", id.OpaqueId)
}

func (s *server) Configure(ctx context.Context, req *userproviderv1.ConfigureRequest) (*userproviderv1.ConfigureResponse, error) {
	s.log.Info("configured", "keys", len(req.GetConfig().GetFields()))
	// A host may offer an AuditLog over the broker and pass its id as config key "audit":
	// dial back into the host and record that we were configured.
	if v, ok := req.GetConfig().GetFields()["audit"]; ok {
		conn, err := s.broker.Dial(uint32(v.GetNumberValue()))
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "dialing the host's AuditLog (broker id %v): %v", v.GetNumberValue(), err)
		}
		defer conn.Close()
		if _, err := auditv1.NewAuditLogClient(conn).Record(ctx, &auditv1.RecordRequest{Event: "configured by the Go driver"}); err != nil {
			return nil, status.Errorf(codes.Unavailable, "recording to the host's AuditLog: %v", err)
		}
	}
	return &userproviderv1.ConfigureResponse{}, nil
}

func (s *server) GetUser(ctx context.Context, req *userproviderv1.GetUserRequest) (*userproviderv1.GetUserResponse, error) {
	s.log.Debug("GetUser", "id", req.GetUserId().GetOpaqueId())
	u, err := s.byID(req.UserId)
	if err != nil {
		return nil, err
	}
	return &userproviderv1.GetUserResponse{User: withoutGroups(u, req.SkipFetchingGroups)}, nil
}

func (s *server) GetUserByClaim(ctx context.Context, req *userproviderv1.GetUserByClaimRequest) (*userproviderv1.GetUserByClaimResponse, error) {
	s.log.Debug("GetUserByClaim", "claim", req.Claim)
	if req.Claim != "mail" && req.Claim != "username" && req.Claim != "uid" {
		return nil, status.Errorf(codes.InvalidArgument, "unknown claim %q: expected one of mail, username, uid", req.Claim)
	}
	if req.Value == "" {
		return nil, status.Errorf(codes.InvalidArgument, "a value for claim %q is required", req.Claim)
	}
	for _, u := range users {
		if (req.Claim == "mail" && u.Mail == req.Value) || (req.Claim == "username" && u.Username == req.Value) || (req.Claim == "uid" && strconv.FormatInt(u.UidNumber, 10) == req.Value) {
			return &userproviderv1.GetUserByClaimResponse{User: withoutGroups(u, req.SkipFetchingGroups)}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "no user with %s %q", req.Claim, req.Value)
}

func (s *server) GetUserGroups(ctx context.Context, req *userproviderv1.GetUserGroupsRequest) (*userproviderv1.GetUserGroupsResponse, error) {
	s.log.Debug("GetUserGroups", "id", req.GetUserId().GetOpaqueId())
	u, err := s.byID(req.UserId)
	if err != nil {
		return nil, err
	}
	return &userproviderv1.GetUserGroupsResponse{Groups: u.Groups}, nil
}

func (s *server) FindUsers(ctx context.Context, req *userproviderv1.FindUsersRequest) (*userproviderv1.FindUsersResponse, error) {
	s.log.Debug("FindUsers", "query", req.Query)
	q := strings.ToLower(strings.TrimSpace(req.Query))
	res := &userproviderv1.FindUsersResponse{}
	if q == "" {
		return res, nil
	}
	for _, u := range users {
		for _, f := range []string{u.Username, u.Mail, u.DisplayName, u.Id.OpaqueId} {
			if strings.Contains(strings.ToLower(f), q) {
				res.Users = append(res.Users, withoutGroups(u, req.SkipFetchingGroups))
				break
			}
		}
	}
	return res, nil
}

// userProviderPlugin registers the service on go-plugin's gRPC server.
type userProviderPlugin struct {
	plugin.Plugin
	log hclog.Logger
}

func (p *userProviderPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	userproviderv1.RegisterUserProviderServer(s, &server{log: p.log, broker: broker})
	return nil
}

func (p *userProviderPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return userproviderv1.NewUserProviderClient(c), nil
}

func main() {
	// hclog JSON on stderr: hosts (driverkit's and go-plugin's) re-log it at its level.
	log := hclog.New(&hclog.LoggerOptions{Name: "userprovider-go", Level: hclog.Trace, JSONFormat: true, Output: os.Stderr})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]plugin.Plugin{"userprovider": &userProviderPlugin{log: log}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          log,
	})
}
