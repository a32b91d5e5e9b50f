//! `sigil`: the one binary. It reads the configuration, then either serves
//! HTTP or runs an administrative command against the store.
//!
//! Exit status: 0 on success, 1 when a command fails (a duplicate user, a
//! malformed value, an unreachable database), 2 for a usage or
//! configuration error. Failures are reported as one line on stderr.

mod admin_commands;
mod audit_commands;
mod cli;
mod commands;
mod config;
mod group_commands;
mod http;
mod limits;
mod metrics;
mod openapi;
mod proxies;
mod reset_commands;
mod role_commands;
mod scim;
mod serve;
mod store_commands;
mod telemetry;
mod tls;
mod token_commands;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{
    AdminCommand, AuditCommand, Cli, ClientCommand, Command, GroupCommand, GroupMemberCommand, KeysCommand,
    RoleCommand, TokenCommand, UserCommand,
};
use crate::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Completions need neither a configuration nor a store.
    if let Command::Completions { shell } = cli.command {
        return match cli::print_completions(shell) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write the completion script: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (config, warnings) = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let serving = matches!(cli.command, Command::Serve);
    if !serving {
        end_quietly_when_output_is_closed();
    }
    telemetry::init(&config, serving);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let result = match cli.command {
        Command::Serve => serve::run(&config),
        Command::Migrate => commands::migrate(&config),
        Command::User(UserCommand::Add(args)) => commands::user_add(&config, *args),
        Command::User(UserCommand::List(output)) => commands::user_list(&config, output),
        Command::User(UserCommand::Show(user)) => commands::user_show(&config, &user.username, user.output),
        Command::User(UserCommand::Update(args)) => commands::user_update(&config, *args),
        Command::User(UserCommand::Disable(user)) => {
            commands::user_set_active(&config, &user.username, false)
        }
        Command::User(UserCommand::Enable(user)) => commands::user_set_active(&config, &user.username, true),
        Command::User(UserCommand::Remove(user)) => commands::user_remove(&config, &user.username),
        Command::User(UserCommand::SetPassword(args)) => commands::user_set_password(&config, &args.username),
        Command::User(UserCommand::ResetLink(args)) => reset_commands::reset_link(&config, &args),
        Command::Group(GroupCommand::Add(group)) => group_commands::add(&config, &group.name),
        Command::Group(GroupCommand::List(output)) => group_commands::list(&config, output),
        Command::Group(GroupCommand::Show { group, output }) => {
            group_commands::show(&config, &group.name, output)
        }
        Command::Group(GroupCommand::Remove(group)) => group_commands::remove(&config, &group.name),
        Command::Group(GroupCommand::Member(GroupMemberCommand::Add(member))) => {
            group_commands::member_add(&config, &member)
        }
        Command::Group(GroupCommand::Member(GroupMemberCommand::Remove(member))) => {
            group_commands::member_remove(&config, &member)
        }
        Command::Client(ClientCommand::Add(args)) => commands::client_add(&config, *args),
        Command::Client(ClientCommand::Update(args)) => commands::client_update(&config, *args),
        Command::Client(ClientCommand::Remove { id }) => commands::client_remove(&config, &id),
        Command::Client(ClientCommand::List(output)) => commands::client_list(&config, output),
        Command::Client(ClientCommand::Show { id, output }) => commands::client_show(&config, &id, output),
        Command::Keys(KeysCommand::Rotate) => commands::keys_rotate(&config),
        Command::Keys(KeysCommand::List(output)) => commands::keys_list(&config, output),
        Command::Token(TokenCommand::Create(args)) => token_commands::create(&config, args),
        Command::Token(TokenCommand::List { client, output }) => {
            token_commands::list(&config, client.as_deref(), output)
        }
        Command::Token(TokenCommand::Revoke { id }) => token_commands::revoke(&config, &id),
        Command::Role(RoleCommand::Add { role, description }) => {
            role_commands::add(&config, &role, description.as_deref())
        }
        Command::Role(RoleCommand::Remove(role)) => role_commands::remove(&config, &role),
        Command::Role(RoleCommand::Grant(grant)) => role_commands::grant(&config, grant),
        Command::Role(RoleCommand::Revoke(grant)) => role_commands::revoke(&config, grant),
        Command::Role(RoleCommand::List { client, output }) => {
            role_commands::list(&config, client.as_deref(), output)
        }
        Command::Admin(AdminCommand::Grant(grant)) => admin_commands::grant(&config, grant),
        Command::Admin(AdminCommand::Revoke(grant)) => admin_commands::revoke(&config, grant),
        Command::Copy(args) => store_commands::copy(&config, &args),
        Command::Backup { file } => store_commands::backup(&config, &file),
        Command::Completions { shell } => cli::print_completions(shell).map_err(Into::into),
        Command::Admin(AdminCommand::List(output)) => admin_commands::list(&config, output),
        Command::Audit(AuditCommand::List(args)) => audit_commands::list(&config, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output went away (see end_quietly_when_output_is_closed).
        Err(e) if !serving && closed_output(&e) => ExitCode::SUCCESS,
        // Found only when serving, such as a TLS certificate that does not load.
        Err(e) if e.downcast_ref::<config::ConfigError>().is_some() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            // One line, whatever the error's sources print.
            let message = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `error` is a write to a reader that has gone away.
fn closed_output(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A listing piped into a reader that stops early (`sigil user list | head
/// -1`) finds its standard output closed: `println!` then panics with a
/// broken pipe. For a command-line tool that is a normal end, as for any
/// Unix filter, so the command ends there with status 0 and no message.
/// Whatever the command wrote to the store was committed before it printed.
/// Any other panic keeps the default report.
fn end_quietly_when_output_is_closed() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // The standard library's own message for a failed print!/println!.
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}
