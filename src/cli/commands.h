/* Handlers of the top-level subcommands, one per src/cli/cmd_<name>.c. A new command adds
 * its line here and its entry to the table in main.c. argv[0] is the command's name. */
#ifndef GTEE_CLI_COMMANDS_H
#define GTEE_CLI_COMMANDS_H

int cmd_keygen(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_keyrelease(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_relay(int argc, char **argv);
int cmd_evidence_get(int argc, char **argv);
int cmd_evidence_gpu(int argc, char **argv);
int cmd_enclave(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_node_register(int argc, char **argv); /* `gtee node register` (cmd_node_register.c) */
int cmd_push(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_proof(int argc, char **argv);
int cmd_chain(int argc, char **argv);
int cmd_rewards(int argc, char **argv);
int cmd_verifier(int argc, char **argv);
int cmd_nodes(int argc, char **argv);

#endif
